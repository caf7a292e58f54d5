import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, FastifySchema } from 'fastify'
import fp from 'fastify-plugin'
import { BrokerError } from '../../errors.js'
import { API_KEY_PREFIX } from '../../services/api-keys.js'
import { bearer } from '../bearer.js'
import { errorResponse } from '../schemas.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Counts a failed authentication of `request` (which presented `token`, if any) and returns what to answer: the
     * given 401, or a 429 once the address has failed too often with that key prefix (or with any key).
     */
    authenticationFailed(request: FastifyRequest, token: string | undefined, refusal: BrokerError): Promise<BrokerError>
  }
}

interface RouteSchema {
  tags?: string[]
  security?: unknown
  response?: Record<string, unknown>
}

/** Per client address, for the routes a user's browser calls without credentials (tagged `browser`). */
export const browserLimit = { max: 60, timeWindow: 60_000 }
/**
 * Failed authentications per client address and key prefix (the first characters of the presented credential, as
 * `keyPrefix` in the admin views) before further failing attempts get 429 for the rest of the window.
 */
export const failedAuthLimit = { max: 20, timeWindow: 60_000 }
/** Failed authentications per client address, whatever the credential, before further failing attempts get 429. */
export const failedAuthPerAddressLimit = { max: 200, timeWindow: 60_000 }

/** What a failing attempt is counted under besides its address: enough of the key to tell callers apart, no more. */
export const KEY_PREFIX_LENGTH = 10
const MAX_WARNED = 10_000
const keyPrefix = (token: string | undefined) => (token ? token.slice(0, KEY_PREFIX_LENGTH) : '')
// an API key's prefix is public (the admin views show it); the start of anything else, a mistyped admin token
// say, is part of a secret and stays out of the logs
const loggedPrefix = (token: string | undefined) => (token?.startsWith(API_KEY_PREFIX) ? keyPrefix(token) : undefined)

const retryIn = (seconds: number) => `retry in ${seconds} second${seconds === 1 ? '' : 's'}`

/**
 * Two limits, both per client address and kept in this instance's memory:
 * - every route tagged `browser` gets `browserLimit`, unless it sets `config.rateLimit` itself;
 * - each failed authentication counts against its address and key prefix, and against its address; past either
 *   limit, failing attempts are answered 429 instead of 401 until the window ends. Credentials are always checked
 *   first: a valid one is never refused, whatever else fails from its address (one NAT, proxy or sidecar shares an
 *   address, and a revoked client retrying must not lock out the other services on its host).
 * Both answer `{ error: 'rate_limited', message }` with `Retry-After`, and the 429 is added to the routes' schemas.
 */
export default fp(
  async (app) => {
    // runs before @fastify/rate-limit's own onRoute hook, which reads config.rateLimit; documents the 429 too
    app.addHook('onRoute', (route) => {
      const schema = route.schema as RouteSchema | undefined
      const browser = schema?.tags?.includes('browser') ?? false
      if (browser && route.config?.rateLimit === undefined) {
        route.config = { ...route.config, rateLimit: browserLimit }
      }
      const limited = browser && route.config?.rateLimit !== false
      if (schema && (limited || schema.security) && !schema.response?.[429]) {
        const example = limited
          ? 'too many requests, retry in 12 seconds'
          : 'too many failed authentications, retry in 1 minute'
        route.schema = {
          ...schema,
          response: {
            ...schema.response,
            429: errorResponse('Too many requests from this address', { error: 'rate_limited', message: example }),
          },
        } as FastifySchema
      }
    })

    await app.register(rateLimit, {
      global: false,
      errorResponseBuilder: (_request, context) =>
        new BrokerError('rate_limited', `too many requests, ${retryIn(Math.ceil(context.ttl / 1000))}`),
    })

    const byPrefix = app.createRateLimit({
      ...failedAuthLimit,
      keyGenerator: (request) => `${request.ip}\u0000${keyPrefix(bearer(request))}`,
    })
    // buckets whose lockout was logged, until their window ends (bounded: cleared when full)
    const warned = new Map<string, number>()
    const byAddress = app.createRateLimit({ ...failedAuthPerAddressLimit, keyGenerator: (request) => request.ip })

    app.decorate(
      'authenticationFailed',
      async (request: FastifyRequest, token: string | undefined, refusal: BrokerError): Promise<BrokerError> => {
        const [prefix, address] = await Promise.all([byPrefix(request), byAddress(request)])
        const exceeded = [prefix, address].filter((seen) => !seen.isAllowed).filter((seen) => seen.isExceeded)
        if (exceeded.length === 0) return refusal
        const ttl = Math.max(1, ...exceeded.map((seen) => seen.ttlInSeconds))
        // once per window and bucket: the attempt that crosses the limit
        const now = Date.now()
        for (const seen of exceeded) {
          if ((warned.get(seen.key) ?? 0) > now) continue
          if (warned.size >= MAX_WARNED) warned.clear()
          warned.set(seen.key, now + seen.ttl)
          const limit = seen === prefix ? 'address and key prefix' : 'address'
          request.log.warn(
            { ip: request.ip, keyPrefix: seen === prefix ? loggedPrefix(token) : undefined, limit, max: seen.max },
            `failed authentications over the limit for this ${limit}: further failing attempts get 429 for ${ttl} s`,
          )
        }
        return new BrokerError('rate_limited', `too many failed authentications, ${retryIn(ttl)}`, {
          retryAfterSeconds: ttl,
        })
      },
    )
  },
  { name: 'rate-limit' },
)
