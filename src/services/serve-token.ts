import type { Secret } from '../crypto/secret.js'
import { createConnectionReader, type ConnectionKey } from '../db/connections/index.js'
import { isDatabaseUnavailable } from '../db/errors.js'
import type { Connection } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import type { ProviderCircuits } from '../providers/circuits.js'
import { invalidRequest, notFound, providerUnavailable, reauthorizationRequired } from '../errors.js'
import { assertProviderAllowed, type Caller } from './callers.js'
import { openAccessToken } from './connection-tokens.js'
import { refreshError, type RefreshService } from './refresh.js'
import { effectiveMinTtl, remainingSeconds, shouldRefresh } from './refresh-rules.js'
import { assertScopesGranted } from './scopes.js'
import type { DatabaseOutage, LastKnown } from './database-outage.js'
import { keyOf, type CachedToken, type TokenCache } from './token-cache.js'

export interface TokenQuery {
  caller: Caller
  userId: string
  /** Optional when exactly one provider is configured. */
  providerId?: string | undefined
  /** Seconds the token must stay valid; capped by effectiveMinTtl. */
  minTtl: number
  /** Scopes the granted scope must hold (409 insufficient_scope otherwise). */
  requiredScopes?: readonly string[] | undefined
}

export interface ServedToken {
  accessToken: Secret
  tokenType: string
  expiresAt: Date
  scope: string | null
  metadata: Record<string, string>
  provider: string
  userId: string
  /** Whether this request waited for a refresh. */
  refreshed: boolean
}

type ServeDeps = Pick<Deps, 'db' | 'keyring' | 'now' | 'timing' | 'metrics'>

const SOLE_PROVIDER_TTL_MS = 5_000
// A provider's refresh margin is read at most this often: on a cold read, a second query for it cost as much as
// the read of the connection itself.
const PROVIDER_MARGIN_TTL_MS = 5_000
// A refreshed token that is still too short for minTtl is not refreshed again and again within one request.
const MAX_REFRESHES_PER_REQUEST = 2

/**
 * GET /tokens: a token valid for at least the (capped) minTtl, from the cache, from the database, or after a
 * refresh shared with every concurrent caller. Whether to refresh is shouldRefresh's decision, including that a
 * connection in backoff is not refreshed on demand: its callers get 503 until its next attempt. While the database is
 * unavailable, the token last read from it is served if it still satisfies minTtl and the outage rules admit it.
 */
export function createTokenService(
  deps: ServeDeps,
  {
    refresher,
    circuits,
    cache,
    lastKnown,
    outage,
  }: {
    refresher: RefreshService
    circuits: ProviderCircuits
    cache: TokenCache
    lastKnown: LastKnown<CachedToken>
    outage: DatabaseOutage
  },
) {
  const { db, keyring } = deps
  const { waitMs } = deps.timing
  let soleProvider: { id: string | null; count: number; at: number; readAt: number } | undefined
  const margins = new Map<string, { seconds: Promise<number | null>; at: number }>()
  const reader = createConnectionReader(db)

  async function resolveProvider(given: string | undefined): Promise<string> {
    if (given) return given
    const now = Date.now()
    if (!soleProvider || now - soleProvider.at > SOLE_PROVIDER_TTL_MS) {
      try {
        const rows = await db.prisma.provider.findMany({ select: { id: true }, take: 2 })
        const id = rows.length === 1 ? (rows[0]?.id ?? null) : null
        soleProvider = { id, count: rows.length, at: now, readAt: deps.now().getTime() }
      } catch (err) {
        if (!isDatabaseUnavailable(err) || !soleProvider?.id || !outage.admits(soleProvider.readAt)) throw err
      }
    }
    if (soleProvider.id === null) {
      throw invalidRequest(
        soleProvider.count === 0 ? 'no provider is configured' : 'provider is required when several are configured',
      )
    }
    return soleProvider.id
  }

  // concurrent reads share one query: when the entry expires under load, every request that missed the token cache
  // at that moment waits for the same answer, instead of each sending its own
  function providerMargin(providerId: string): Promise<number | null> {
    const now = Date.now()
    const known = margins.get(providerId)
    if (known && now - known.at >= 0 && now - known.at <= PROVIDER_MARGIN_TTL_MS) return known.seconds
    const seconds = db.sql
      .rows<{ seconds: number | null }>({
        name: 'provider_margin',
        text: 'SELECT refresh_margin_seconds AS seconds FROM providers WHERE id = $1',
        values: [providerId],
      })
      .then(([row]) => row?.seconds ?? null)
    const entry = { seconds, at: now }
    margins.set(providerId, entry)
    // a failed read is not kept: the next request asks again
    seconds.catch(() => margins.get(providerId) === entry && margins.delete(providerId))
    return seconds
  }

  function served(token: CachedToken, refreshed: boolean): ServedToken {
    return {
      accessToken: token.accessToken,
      tokenType: token.tokenType,
      expiresAt: token.expiresAt,
      scope: token.scope,
      metadata: token.metadata,
      provider: token.providerId,
      userId: token.userId,
      refreshed,
    }
  }

  /** The row's token as served, kept for an outage; undefined (and forgotten) when the row has none to serve. */
  function lastRead(
    key: ConnectionKey,
    row: Connection,
    providerMarginSeconds: number | null,
  ): CachedToken | undefined {
    if (row.status !== 'active' || !row.expiresAt) {
      lastKnown.forget(keyOf(key))
      return undefined
    }
    const token: CachedToken = {
      connectionId: row.id,
      namespace: row.namespace,
      providerId: row.providerId,
      userId: row.userId,
      accessToken: openAccessToken(keyring, row),
      tokenType: row.tokenType,
      scope: row.scope,
      metadata: (row.metadata ?? {}) as Record<string, string>,
      expiresAt: row.expiresAt,
      lifetimeSeconds: row.lifetimeSeconds,
      providerMarginSeconds,
    }
    lastKnown.confirm(keyOf(key), token)
    return token
  }

  async function serve(query: TokenQuery): Promise<ServedToken> {
    const providerId = await resolveProvider(query.providerId)
    assertProviderAllowed(query.caller, providerId)
    const key = { namespace: query.caller.namespace, providerId, userId: query.userId }
    const required = query.requiredScopes ?? []
    const hit = cache.get(key)
    if (hit && isEnough(hit, query.minTtl, deps.now())) {
      assertScopesGranted(hit.scope, required)
      return served(hit, false)
    }
    try {
      return await serveFromDatabase(query, key, required)
    } catch (err) {
      const known = isDatabaseUnavailable(err) ? lastKnown.recall(keyOf(key)) : undefined
      if (!known || !isEnough(known, query.minTtl, deps.now())) throw err
      assertScopesGranted(known.scope, required)
      deps.metrics.servedDuringOutage.inc({ what: 'token' })
      return served(known, false)
    }
  }

  async function serveFromDatabase(
    query: TokenQuery,
    key: ConnectionKey,
    required: readonly string[],
  ): Promise<ServedToken> {
    let row = await reader.read(key)
    outage.reached()
    if (!row) {
      lastKnown.forget(keyOf(key))
      throw notFound('connection')
    }
    // a token without the scopes is refused before any refresh, which would not add them
    if (row.status === 'active') assertScopesGranted(row.scope, required)
    const marginSeconds = await providerMargin(key.providerId)
    for (let refreshes = 0; ; refreshes++) {
      const token = lastRead(key, row, marginSeconds)
      const now = deps.now()
      const minTtl = effectiveMinTtl(query.minTtl, row.lifetimeSeconds, marginSeconds)
      const need = { kind: 'minTtl', seconds: minTtl } as const
      const decision = shouldRefresh(row, now, need)
      switch (decision.reason) {
        case 'valid_for_min_ttl':
          assertScopesGranted(row.scope, required)
          cache.set(token as CachedToken)
          return served(token as CachedToken, refreshes > 0)
        case 'not_active':
          cache.forget(key)
          throw reauthorizationRequired()
        case 'no_refresh_token':
          throw reauthorizationRequired('the access token expires and there is no refresh token to renew it')
        case 'in_backoff': {
          const retryAt = row.nextRefreshAt as Date
          throw providerUnavailable(
            `refresh failed recently (${row.lastError ?? 'unknown error'}); next attempt at ${retryAt.toISOString()}`,
            Math.ceil((retryAt.getTime() - now.getTime()) / 1000),
          )
        }
      }
      if (refreshes >= MAX_REFRESHES_PER_REQUEST)
        throw providerUnavailable('the refreshed token is still too short-lived')
      // a provider failing again and again: its callers are answered at once, but for a probe now and then
      const nowMs = now.getTime()
      if (!circuits.admits(key.providerId, nowMs)) {
        throw providerUnavailable(
          'the provider failed repeatedly: refreshes are paused, but for a probe now and then; try again',
          circuits.retryAfterSeconds(key.providerId, nowMs),
        )
      }
      const refreshing = refresher.refresh(row.id, {
        need,
        trigger: 'on_demand',
        actor: `client:${query.caller.id}`,
        waitMs,
      })
      // storing the outcome waits out a database restart; the caller does not, and the refresh goes on without it
      const result = await settledWithin(refreshing, waitMs)
      if (!result) throw providerUnavailable('the refresh has not finished yet; try again', 1)
      if (result.kind === 'not_found') cache.forget(key)
      if ('connection' in result && result.kind !== 'failed') {
        // refreshed, fresh, or no longer refreshable: the next turn decides what that row gives the caller
        row = result.connection
        continue
      }
      throw refreshError(result, deps.now())
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
