import type * as client from 'openid-client'
import type { Deps } from '../app.js'
import { Secret } from '../crypto/secret.js'
import type { ConnectionWithProvider } from '../db/connection-leases.js'
import { queryRows, toConnection, type ConnectionRow } from '../db/connection-reads.js'
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

// The new tokens, the released lease and the audit entry in one statement (atomic, one round trip): a refresh is
// the broker's most frequent write. The same statement runs inside a transaction when an event or a provider
// change has to go with it.
const refreshed = {
  name: 'connection_store_refreshed',
  text: `
    WITH saved AS (
      UPDATE connections SET
        access_token_enc = $3,
        refresh_token_enc = COALESCE($4, refresh_token_enc),
        token_type = $5,
        scope = $6,
        expires_at = $7,
        lifetime_seconds = $8,
        next_refresh_at = $9,
        last_refreshed_at = $10,
        failure_count = 0,
        last_error = NULL,
        last_error_at = NULL,
        lease_owner = NULL,
        lease_expires_at = NULL,
        version = version + 1,
        updated_at = $11
      WHERE id = $1::uuid AND lease_owner = $2
      RETURNING *
    ), audit AS (
      INSERT INTO audit_events (actor, action, subject_type, subject_id, provider_id, user_id, detail)
      SELECT $12, 'connection.refreshed', 'connection', saved.id::text, saved.provider_id, saved.user_id, $13::jsonb
      FROM saved
    )
    SELECT * FROM saved`,
}

/** Stores new tokens; a response without refresh_token keeps the stored one. */
export async function writeRefreshed(
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
  const detail = {
    trigger,
    rotated: sealed.refreshTokenEnc !== undefined,
    lifetimeSeconds,
    expiresInGiven: response.expires_in !== undefined,
  }
  const values = [
    row.id,
    owner,
    sealed.accessTokenEnc,
    sealed.refreshTokenEnc ?? null,
    displayTokenType(response.token_type),
    response.scope ?? row.scope,
    expiresAt,
    lifetimeSeconds,
    nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
    now,
    new Date(),
    actor,
    JSON.stringify(detail),
  ]
  const recovered = row.failureCount >= FAILURES_BEFORE_NOTICE
  const credentialsCleared = provider.credentialsStatus !== 'ok'
  if (!recovered && !credentialsCleared) {
    const [saved] = await queryRows<ConnectionRow>(deps.prisma, { ...refreshed, values })
    if (!saved) throw new LeaseLostError()
    return toConnection(saved)
  }
  return deps.prisma.$transaction(async (tx) => {
    const [row_] = await tx.$queryRawUnsafe<ConnectionRow[]>(refreshed.text, ...values)
    if (!row_) throw new LeaseLostError()
    const saved = toConnection(row_)
    if (recovered) {
      await emitConnectionEvent(tx, event(saved, 'connection.recovered', { failures: row.failureCount }), now)
    }
    if (credentialsCleared) await markProviderCredentials(tx, provider.id, null, actor, now)
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
