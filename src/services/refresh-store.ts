import type * as client from 'openid-client'
import type { Deps } from '../app.js'
import { Secret } from '../crypto/secret.js'
import type { ConnectionWithProvider } from '../db/connection-leases.js'
import type { Connection } from '../db/generated/client.js'
import type { ProviderFailure } from '../providers/failures.js'
import { emitConnectionEvent, type ConnectionEventType } from '../webhooks/outbox.js'
import { recordAudit, type Actor } from './audit.js'
import { sealTokens } from './connection-tokens.js'
import { markProviderCredentials } from './provider-credentials.js'
import { nextRefreshAt, tokenLifetime } from './refresh-policy.js'

// The writes that end a refresh: each one transaction that stores the outcome, releases the lease, audits and
// emits its event, and only if the lease is still ours (`LeaseLostError` otherwise).

export type RefreshTrigger = 'scheduler' | 'on_demand' | 'admin'

/** Consecutive failures after which `connection.refresh_failed` is sent (once); `connection.recovered` follows it. */
export const FAILURES_BEFORE_NOTICE = 3

export class LeaseLostError extends Error {
  constructor() {
    super('the lease was taken over before the outcome was stored')
    this.name = 'LeaseLostError'
  }
}

/** A leased connection being refreshed, and on whose behalf. */
export interface LeaseHold {
  row: ConnectionWithProvider
  owner: string
  trigger: RefreshTrigger
  actor: Actor
}

type StoreDeps = Pick<Deps, 'prisma' | 'keyring' | 'config'>

// Prisma's defaults (2 s to get a connection, 5 s to finish) would drop a rotated refresh token whenever the pool
// is busy; these writes may wait longer, since what they hold exists nowhere else.
const STORE_TRANSACTION = { maxWait: 10_000, timeout: 15_000 }

/** Stores new tokens; a response without refresh_token keeps the stored one. */
export function writeRefreshed(
  deps: StoreDeps,
  { row, owner, trigger, actor }: LeaseHold,
  response: client.TokenEndpointResponse,
  now: Date,
): Promise<Connection> {
  const { provider } = row
  const lifetimeSeconds = tokenLifetime(response.expires_in, provider.defaultTokenLifetimeSeconds)
  const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
  const sealed = sealTokens(deps.keyring, row.id, {
    accessToken: new Secret(response.access_token),
    refreshToken: response.refresh_token ? new Secret(response.refresh_token) : undefined,
    tokenType: response.token_type,
  })
  const timing = {
    expiresAt,
    lifetimeSeconds,
    hasRefreshToken: Boolean(sealed.refreshTokenEnc ?? row.refreshTokenEnc),
    providerMarginSeconds: provider.refreshMarginSeconds,
  }
  return deps.prisma.$transaction(async (tx) => {
    const [saved] = await tx.connection.updateManyAndReturn({
      where: { id: row.id, leaseOwner: owner },
      data: {
        accessTokenEnc: sealed.accessTokenEnc,
        ...(sealed.refreshTokenEnc ? { refreshTokenEnc: sealed.refreshTokenEnc } : {}),
        tokenType: displayTokenType(response.token_type),
        scope: response.scope ?? row.scope,
        expiresAt,
        lifetimeSeconds,
        nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
        lastRefreshedAt: now,
        failureCount: 0,
        lastError: null,
        lastErrorAt: null,
        leaseOwner: null,
        leaseExpiresAt: null,
        version: { increment: 1 },
      },
    })
    if (!saved) throw new LeaseLostError()
    await recordAudit(tx, {
      actor,
      action: 'connection.refreshed',
      subjectType: 'connection',
      subjectId: row.id,
      providerId: row.providerId,
      userId: row.userId,
      detail: {
        trigger,
        rotated: sealed.refreshTokenEnc !== undefined,
        lifetimeSeconds,
        expiresInGiven: response.expires_in !== undefined,
      },
    })
    if (row.failureCount >= FAILURES_BEFORE_NOTICE) {
      await emitConnectionEvent(tx, event(saved, 'connection.recovered', { failures: row.failureCount }), now)
    }
    if (provider.credentialsStatus !== 'ok') await markProviderCredentials(tx, provider.id, null, actor, now)
    return saved
  }, STORE_TRANSACTION)
}

/**
 * Records a failed refresh: `invalid_grant` ends the connection's refreshes (reauthorization_required), any other
 * failure keeps it active until `retryAt`; `invalid_client` also flags the provider.
 */
export function writeFailure(
  deps: StoreDeps,
  { row, owner, trigger, actor }: LeaseHold,
  failure: ProviderFailure,
  { now, retryAt }: { now: Date; retryAt: Date | null },
): Promise<Connection> {
  const failureCount = row.failureCount + 1
  const reauthorize = failure.kind === 'invalid_grant'
  return deps.prisma.$transaction(async (tx) => {
    const [saved] = await tx.connection.updateManyAndReturn({
      where: { id: row.id, leaseOwner: owner },
      data: {
        ...(reauthorize ? { status: 'reauthorization_required' } : {}),
        nextRefreshAt: reauthorize ? null : retryAt,
        failureCount,
        lastError: failure.message,
        lastErrorAt: now,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
    })
    if (!saved) throw new LeaseLostError()
    const retryInSeconds = retryAt && !reauthorize ? Math.round((retryAt.getTime() - now.getTime()) / 1000) : null
    await recordAudit(tx, {
      actor,
      action: reauthorize ? 'connection.reauthorization_required' : 'connection.refresh_failed',
      subjectType: 'connection',
      subjectId: row.id,
      providerId: row.providerId,
      userId: row.userId,
      detail: { trigger, failure: failure.kind, error: failure.message, failureCount, retryInSeconds },
    })
    if (reauthorize) {
      await emitConnectionEvent(tx, event(saved, 'connection.reauthorization_required', { reason: failure.kind }), now)
    } else if (failureCount === FAILURES_BEFORE_NOTICE) {
      await emitConnectionEvent(
        tx,
        event(saved, 'connection.refresh_failed', { failure: failure.kind, failureCount }),
        now,
      )
    }
    if (failure.kind === 'invalid_client') {
      await markProviderCredentials(tx, row.providerId, failure.message, actor, now)
    }
    return saved
  }, STORE_TRANSACTION)
}

function event(connection: Connection, type: ConnectionEventType, detail: Record<string, string | number>) {
  return {
    type,
    connectionId: connection.id,
    providerId: connection.providerId,
    userId: connection.userId,
    status: connection.status,
    detail,
  }
}

/** openid-client lowercases token_type; callers put it in an Authorization header, where `Bearer` is usual. */
export function displayTokenType(tokenType: string): string {
  const lower = tokenType.toLowerCase()
  return lower === 'bearer' ? 'Bearer' : lower === 'dpop' ? 'DPoP' : tokenType
}
