import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, FastifySchema } from 'fastify'
import fp from 'fastify-plugin'
import { BrokerError } from '../../errors.js'
import { errorResponse } from '../schemas.js'

interface RouteSchema {
  tags?: string[]
  security?: unknown
  response?: Record<string, unknown>
}

/** Per client address, for the routes a user's browser calls without credentials (tagged `browser`). */
export const browserLimit = { max: 60, timeWindow: 60_000 }
/** Failed authentications per client address before authenticated routes refuse it for the rest of the window. */
export const failedAuthLimit = { max: 20, timeWindow: 60_000 }

const retryIn = (seconds: number) => `retry in ${seconds} second${seconds === 1 ? '' : 's'}`

/**
 * Two limits, both per client address and kept in this instance's memory:
 * - every route tagged `browser` gets `browserLimit`, unless it sets `config.rateLimit` itself;
 * - each 401 counts against the address; once `failedAuthLimit.max` are counted, routes that declare a
 *   security scheme answer 429 before looking at the credentials, until the window ends.
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
      if (schema && (browser || schema.security) && !schema.response?.[429]) {
        const example = browser
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

    const failures = app.createRateLimit({ ...failedAuthLimit, keyGenerator: (request) => request.ip })
    const authenticates = (request: FastifyRequest) => Boolean(request.routeOptions.schema?.security)

    app.addHook('onRequest', async (request, reply) => {
      if (!authenticates(request)) return
      const seen = await failures(request, { increment: false })
      if (seen.isAllowed || seen.remaining > 0) return
      reply.header('retry-after', seen.ttlInSeconds)
      throw new BrokerError('rate_limited', `too many failed authentications, ${retryIn(seen.ttlInSeconds)}`)
    })

    app.addHook('onResponse', async (request, reply) => {
      if (reply.statusCode === 401) await failures(request)
    })
  },
  { name: 'rate-limit' },
)
