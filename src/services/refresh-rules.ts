/**
 * Pure decisions of the refresh path: whether a connection needs a refresh now, how long a caller's minTtl
 * really is, and how long a failing connection waits before the next attempt.
 */

export interface RefreshState {
  status: string
  expiresAt: Date | null
  nextRefreshAt: Date | null
  lastRefreshedAt: Date | null
  refreshTokenEnc: Uint8Array | null
  failureCount: number
  /** `client_credentials`: renewed by asking again, without a refresh token; absent: `authorization_code`. */
  grantType?: string
}

/** Whether the connection can get a new access token without its user: a refresh token, or a machine's own grant. */
export function isRenewable(connection: Pick<RefreshState, 'refreshTokenEnc' | 'grantType'>): boolean {
  return connection.refreshTokenEnc !== null || connection.grantType === 'client_credentials'
}

/**
 * What a refresh is for. `due`: the scheduler's claim (refresh unless someone already moved nextRefreshAt);
 * `minTtl`: a caller needs the token valid for that many more seconds; `force`: an admin asked, refresh
 * unless a refresh finished after `since`.
 */
export type RefreshNeed = { kind: 'due' } | { kind: 'minTtl'; seconds: number } | { kind: 'force'; since: Date }

export type RefreshReason =
  | 'not_active'
  | 'no_refresh_token'
  | 'due'
  | 'not_due'
  | 'expires_within_min_ttl'
  | 'valid_for_min_ttl'
  | 'forced'
  | 'refreshed_since_asked'
  | 'in_backoff'

/**
 * Whether to call the provider, and why (or why not); `reason` is logged with every refresh. A connection in backoff
 * after failures is not refreshed for a caller's minTtl before its next attempt (`in_backoff`), so a busy caller
 * cannot turn one broken connection into a refresh storm; the scheduler's `due` is that next attempt, and an admin's
 * `force` ignores it.
 */
export function shouldRefresh(
  connection: RefreshState,
  now: Date,
  need: RefreshNeed,
): { should: boolean; reason: RefreshReason } {
  if (connection.status !== 'active') return { should: false, reason: 'not_active' }
  if (satisfies(connection, now, need)) {
    const reason =
      need.kind === 'due' ? 'not_due' : need.kind === 'minTtl' ? 'valid_for_min_ttl' : 'refreshed_since_asked'
    return { should: false, reason }
  }
  if (!isRenewable(connection)) return { should: false, reason: 'no_refresh_token' }
  if (need.kind === 'minTtl' && inBackoff(connection, now)) return { should: false, reason: 'in_backoff' }
  const reason = need.kind === 'due' ? 'due' : need.kind === 'minTtl' ? 'expires_within_min_ttl' : 'forced'
  return { should: true, reason }
}

/** Failing, and its next attempt not yet due. */
export function inBackoff(connection: Pick<RefreshState, 'failureCount' | 'nextRefreshAt'>, now: Date): boolean {
  return connection.failureCount > 0 && connection.nextRefreshAt !== null && connection.nextRefreshAt > now
}

/** Whether the stored token already meets the need, so that no refresh is wanted. */
export function satisfies(connection: RefreshState, now: Date, need: RefreshNeed): boolean {
  switch (need.kind) {
    case 'due':
      return connection.nextRefreshAt === null || connection.nextRefreshAt.getTime() > now.getTime()
    case 'minTtl':
      return remainingSeconds(connection.expiresAt, now) >= need.seconds
    case 'force':
      return connection.lastRefreshedAt !== null && connection.lastRefreshedAt.getTime() >= need.since.getTime()
  }
}

/** Seconds until expiry; a token without a known expiry counts as expired. */
export function remainingSeconds(expiresAt: Date | null, now: Date): number {
  return expiresAt ? (expiresAt.getTime() - now.getTime()) / 1000 : -Infinity
}

/**
 * The minTtl actually applied: at most half the lifetime the provider last granted, so a provider with
 * short-lived tokens is not refreshed on every call; and at most the provider's own refresh margin, since a
 * provider that refuses early refresh cannot give a token more time than that before it expires.
 */
export function effectiveMinTtl(
  requested: number,
  lifetimeSeconds: number | null,
  providerMarginSeconds: number | null = null,
): number {
  let seconds = requested
  if (lifetimeSeconds !== null && lifetimeSeconds > 0) seconds = Math.min(seconds, Math.floor(lifetimeSeconds / 2))
  if (providerMarginSeconds !== null) seconds = Math.min(seconds, providerMarginSeconds)
  return Math.max(0, seconds)
}

export interface BackoffPolicy {
  /** Ceiling of the first retry; doubles with every consecutive failure. */
  baseSeconds: number
  /** Largest ceiling: a connection that keeps failing is tried on average every capSeconds / 2. */
  capSeconds: number
  /** Shortest wait, so a retry never lands in the tick that just failed. */
  minSeconds: number
  /** A provider's Retry-After is honoured up to this. */
  maxRetryAfterSeconds: number
}

// 30 s doubling to a 30 min cap: a short outage is retried within seconds to minutes, while a connection that
// is broken for good costs on average one attempt per 15 minutes (about 100 a day) instead of one per tick.
export const DEFAULT_BACKOFF: BackoffPolicy = {
  baseSeconds: 30,
  capSeconds: 30 * 60,
  minSeconds: 5,
  maxRetryAfterSeconds: 60 * 60,
}

/**
 * Seconds to wait after the `failureCount`-th consecutive failure: exponential with full jitter (uniform in
 * [0, ceiling]), so that connections broken by one outage do not all retry at the same moment; never less
 * than the provider's Retry-After (itself capped).
 */
export function backoffSeconds(
  failureCount: number,
  options: { retryAfterSeconds?: number; random?: () => number; policy?: BackoffPolicy } = {},
): number {
  const policy = options.policy ?? DEFAULT_BACKOFF
  const random = options.random ?? Math.random
  const exponent = Math.min(Math.max(failureCount, 1) - 1, 30)
  const ceiling = Math.min(policy.capSeconds, policy.baseSeconds * 2 ** exponent)
  let delay = Math.max(policy.minSeconds, Math.ceil(random() * ceiling))
  if (options.retryAfterSeconds !== undefined && Number.isFinite(options.retryAfterSeconds)) {
    delay = Math.max(delay, Math.min(Math.ceil(options.retryAfterSeconds), policy.maxRetryAfterSeconds))
  }
  return delay
}
