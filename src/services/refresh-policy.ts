/**
 * When a connection's access token should be refreshed. The margin before expiry is the provider's own
 * (for providers that refuse early refresh), else the refresh window, but never more than half the lifetime
 * the provider granted: a fixed margin longer than a short-lived token would refresh it on every tick.
 */
export interface RefreshTiming {
  expiresAt: Date
  lifetimeSeconds: number
  hasRefreshToken: boolean
  providerMarginSeconds: number | null
}

export function refreshMarginSeconds(
  timing: Pick<RefreshTiming, 'lifetimeSeconds' | 'providerMarginSeconds'>,
  windowSeconds: number,
): number {
  if (timing.providerMarginSeconds !== null) return Math.min(timing.providerMarginSeconds, timing.lifetimeSeconds)
  return Math.min(windowSeconds, Math.floor(timing.lifetimeSeconds / 2))
}

/** The moment the scheduler should refresh; null when there is nothing to refresh with. */
export function nextRefreshAt(timing: RefreshTiming, windowSeconds: number): Date | null {
  if (!timing.hasRefreshToken) return null
  return new Date(timing.expiresAt.getTime() - refreshMarginSeconds(timing, windowSeconds) * 1000)
}

/** Expiry of a token granted at `now`; a provider that omits expires_in gets its configured default lifetime. */
export function tokenLifetime(expiresIn: number | undefined, defaultLifetimeSeconds: number): number {
  return expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0
    ? Math.floor(expiresIn)
    : defaultLifetimeSeconds
}

/** Seconds the provider says a refresh token lives (`refresh_token_expires_in`, a number or digits), when it says. */
export function refreshTokenExpiresIn(response: Record<string, unknown>): number | undefined {
  const value = response.refresh_token_expires_in
  const seconds = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? +value : NaN
  return Number.isFinite(seconds) && seconds > 0 ? Math.floor(seconds) : undefined
}

/**
 * When a refresh token issued at `now` stops working: as the provider said, else by the provider's (or its
 * template's) lifetime rule; null when neither says.
 */
export function refreshTokenExpiry(
  now: Date,
  expiresIn: number | undefined,
  lifetimeSeconds: number | null,
): Date | null {
  const seconds = expiresIn ?? lifetimeSeconds
  return seconds === null ? null : new Date(now.getTime() + seconds * 1000)
}
