import type { Deps } from '../app.js'
import { Secret } from '../crypto/secret.js'
import { createConnectionReader } from '../db/connection-reads.js'
import { BrokerError, forbidden, invalidRequest, notFound } from '../errors.js'
import type { Caller } from '../http/plugins/auth.js'
import { openAccessToken } from './connection-tokens.js'
import type { RefreshService } from './refresh.js'
import { effectiveMinTtl, remainingSeconds } from './refresh-rules.js'
import type { CachedToken, TokenCache } from './token-cache.js'

export interface TokenQuery {
  caller: Caller
  userId: string
  /** Optional when exactly one provider is configured. */
  providerId?: string
  /** Seconds the token must stay valid; capped by effectiveMinTtl. */
  minTtl: number
}

export interface ServedToken {
  accessToken: Secret
  tokenType: string
  expiresAt: Date
  scope: string | null
  provider: string
  userId: string
  /** Whether this request waited for a refresh. */
  refreshed: boolean
}

/** A 503 that says when to try again. */
export class ProviderUnavailableError extends BrokerError {
  readonly retryAfterSeconds: number | undefined

  constructor(message: string, retryAfterSeconds?: number) {
    super('provider_unavailable', message)
    this.retryAfterSeconds = retryAfterSeconds
  }
}

const reauthorizationRequired = (message: string) => new BrokerError('reauthorization_required', message)

type ServeDeps = Pick<Deps, 'prisma' | 'keyring' | 'now'>

const SOLE_PROVIDER_TTL_MS = 5_000
// A provider's refresh margin is read at most this often: on a cold read, a second query for it cost as much as
// the read of the connection itself.
const PROVIDER_MARGIN_TTL_MS = 5_000

/**
 * GET /tokens: a token valid for at least the (capped) minTtl, from the cache, from the database, or after a
 * refresh shared with every concurrent caller. A connection in backoff is not refreshed on demand: callers
 * get 503 until its next attempt, so a busy caller cannot turn one broken connection into a refresh storm.
 */
export function createTokenService(
  deps: ServeDeps,
  { refresher, cache, waitMs }: { refresher: RefreshService; cache: TokenCache; waitMs: number },
) {
  const { prisma, keyring } = deps
  let soleProvider: { id: string | null; count: number; at: number } | undefined
  const margins = new Map<string, { seconds: number | null; at: number }>()
  const reader = createConnectionReader(prisma)

  async function resolveProvider(given: string | undefined): Promise<string> {
    if (given) return given
    const now = Date.now()
    if (!soleProvider || now - soleProvider.at > SOLE_PROVIDER_TTL_MS) {
      const rows = await prisma.provider.findMany({ select: { id: true }, take: 2 })
      soleProvider = { id: rows.length === 1 ? (rows[0]?.id ?? null) : null, count: rows.length, at: now }
    }
    if (soleProvider.id === null) {
      throw invalidRequest(
        soleProvider.count === 0 ? 'no provider is configured' : 'provider is required when several are configured',
      )
    }
    return soleProvider.id
  }

  async function providerMargin(providerId: string): Promise<number | null> {
    const now = Date.now()
    const known = margins.get(providerId)
    if (known && now - known.at <= PROVIDER_MARGIN_TTL_MS) return known.seconds
    const row = await prisma.provider.findUnique({ where: { id: providerId }, select: { refreshMarginSeconds: true } })
    const seconds = row?.refreshMarginSeconds ?? null
    margins.set(providerId, { seconds, at: now })
    return seconds
  }

  function served(token: CachedToken, refreshed: boolean): ServedToken {
    return {
      accessToken: token.accessToken,
      tokenType: token.tokenType,
      expiresAt: token.expiresAt,
      scope: token.scope,
      provider: token.providerId,
      userId: token.userId,
      refreshed,
    }
  }

  async function serve(query: TokenQuery): Promise<ServedToken> {
    const providerId = await resolveProvider(query.providerId)
    if (!query.caller.allowedProviders.includes(providerId)) {
      throw forbidden(`provider "${providerId}" is not allowed for this caller`)
    }
    const hit = cache.get(providerId, query.userId)
    if (hit && isEnough(hit, query.minTtl, deps.now())) return served(hit, false)

    const found = await reader.read(providerId, query.userId)
    if (!found) throw notFound('connection')
    const provider = { refreshMarginSeconds: await providerMargin(providerId) }
    let row = found
    for (let attempt = 0; ; attempt++) {
      if (row.status !== 'active') {
        cache.forget(providerId, query.userId)
        throw reauthorizationRequired('the user must authorize this provider again')
      }
      const now = deps.now()
      const minTtl = effectiveMinTtl(query.minTtl, row.lifetimeSeconds, provider.refreshMarginSeconds)
      if (row.expiresAt && remainingSeconds(row.expiresAt, now) >= minTtl) {
        const token: CachedToken = {
          connectionId: row.id,
          providerId,
          userId: row.userId,
          accessToken: openAccessToken(keyring, row),
          tokenType: row.tokenType,
          scope: row.scope,
          expiresAt: row.expiresAt,
          lifetimeSeconds: row.lifetimeSeconds,
          providerMarginSeconds: provider.refreshMarginSeconds,
        }
        cache.set(token)
        return served(token, attempt > 0)
      }
      if (!row.refreshTokenEnc) {
        throw reauthorizationRequired('the access token expires and there is no refresh token to renew it')
      }
      if (attempt >= 2) throw new ProviderUnavailableError('the refreshed token is still too short-lived')
      if (row.failureCount > 0 && row.nextRefreshAt && row.nextRefreshAt > now) {
        throw new ProviderUnavailableError(
          `refresh failed recently (${row.lastError ?? 'unknown error'}); next attempt at ${row.nextRefreshAt.toISOString()}`,
          Math.ceil((row.nextRefreshAt.getTime() - now.getTime()) / 1000),
        )
      }
      const refreshing = refresher.refresh(row.id, {
        need: { kind: 'minTtl', seconds: minTtl },
        trigger: 'on_demand',
        actor: `client:${query.caller.id}`,
        waitMs,
      })
      // storing the outcome waits out a database restart; the caller does not, and the refresh goes on without it
      const result = await settledWithin(refreshing, waitMs)
      if (!result) throw new ProviderUnavailableError('the refresh has not finished yet; try again', 1)
      switch (result.kind) {
        case 'refreshed':
        case 'fresh':
          row = result.connection
          continue
        case 'reauthorization_required':
        case 'no_refresh_token':
          row = result.connection
          continue
        case 'failed': {
          const retryIn = result.retryAt
            ? Math.ceil((result.retryAt.getTime() - deps.now().getTime()) / 1000)
            : undefined
          throw new ProviderUnavailableError(`refresh failed: ${result.message}`, retryIn)
        }
        case 'busy':
          throw new ProviderUnavailableError('another instance is refreshing this connection; try again', 1)
        case 'lease_lost':
          throw new ProviderUnavailableError('the refresh could not be stored; try again', 1)
        case 'not_found':
          cache.forget(providerId, query.userId)
          throw notFound('connection')
      }
    }
  }

  return { serve }
}

export type TokenService = ReturnType<typeof createTokenService>

function isEnough(token: CachedToken, requested: number, now: Date): boolean {
  const minTtl = effectiveMinTtl(requested, token.lifetimeSeconds, token.providerMarginSeconds)
  return remainingSeconds(token.expiresAt, now) >= minTtl
}

async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
