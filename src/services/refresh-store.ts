// The writes that end a refresh: each stores the outcome, releases the lease, audits and emits its event, and only if
// the lease is still ours (`LeaseLostError` otherwise).
import type * as client from 'openid-client'
import { Secret } from '../crypto/secret.js'
import { recordAudit, type Actor } from '../db/audit.js'
import {
  createRefreshWriter,
  storeRefreshed,
  storeRefreshFailure,
  type ConnectionWithProvider,
  type RefreshedWrite,
} from '../db/connections/index.js'
import type { Connection } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { metadataOf } from '../providers/dialect.js'
import type { ProviderFailure } from '../providers/failures.js'
import { tokenTypeName } from '../providers/token-type.js'
import type { ConnectionEventType } from '../schemas/webhook.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { sealTokens } from './connection-tokens.js'
import { markProviderCredentials } from './provider-credentials.js'
import { nextRefreshAt, refreshTokenExpiresIn, refreshTokenExpiry, tokenLifetime } from './refresh-policy.js'
import { isRenewable } from './refresh-rules.js'

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

// Prisma's defaults (2 s to get a connection, 5 s to finish) would drop a rotated refresh token whenever the pool
// is busy; these writes may wait longer, since what they hold exists nowhere else.
const STORE_TRANSACTION = { maxWait: 10_000, timeout: 15_000 }

/** `inFlight`: the refreshes of this process that may still bring an outcome to store. */
export function createRefreshOutcomes(
  deps: Pick<Deps, 'db' | 'keyring' | 'config' | 'providers'>,
  { inFlight }: { inFlight?: () => number } = {},
) {
  const { db, keyring } = deps
  const writer = createRefreshWriter(db, { inFlight })

  /** Stores new tokens; a response without refresh_token keeps the stored one. */
  async function succeeded(hold: LeaseHold, response: client.TokenEndpointResponse, now: Date): Promise<Connection> {
    const { row, owner, trigger, actor } = hold
    const { provider } = row
    const lifetimeSeconds = tokenLifetime(response.expires_in, provider.defaultTokenLifetimeSeconds)
    const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
    const sealed = sealTokens(keyring, row.id, {
      accessToken: new Secret(response.access_token),
      refreshToken: response.refresh_token ? new Secret(response.refresh_token) : undefined,
      tokenType: response.token_type,
    })
    const timing = {
      expiresAt,
      lifetimeSeconds,
      hasRefreshToken: sealed.refreshTokenEnc !== undefined || isRenewable(row),
      providerMarginSeconds: provider.refreshMarginSeconds,
    }
    const fields = {
      accessTokenEnc: sealed.accessTokenEnc,
      refreshTokenEnc: sealed.refreshTokenEnc ?? null,
      tokenType: tokenTypeName(response.token_type),
      scope: response.scope ?? row.scope,
      metadata: metadataOf(response, deps.providers.dialectFor(provider)),
      expiresAt,
      lifetimeSeconds,
      nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
      refreshedAt: now,
      refreshTokenExpiresAt: renewedRefreshTokenExpiry(response, provider.refreshTokenLifetimeSeconds, now),
    }
    const audit = {
      actor,
      detail: {
        trigger,
        rotated: sealed.refreshTokenEnc !== undefined,
        lifetimeSeconds,
        expiresInGiven: response.expires_in !== undefined,
      },
    }
    const recovered = row.failureCount >= FAILURES_BEFORE_NOTICE
    const credentialsCleared = provider.credentialsStatus !== 'ok'
    const write: RefreshedWrite = { lease: { id: row.id, owner }, fields, audit }
    const stored = (saved: Connection | null | undefined) => {
      if (!saved) throw new LeaseLostError()
      return saved
    }
    // the common case is a share of one statement (refreshes that end together are stored together; a scheduled one,
    // which no caller waits for, may wait a little for others); an event or a provider change goes with it in one
    // transaction
    if (!recovered && !credentialsCleared) {
      return stored(await writer.store(write, { gather: trigger === 'scheduler' }))
    }
    return db.transaction(async (tx) => {
      const saved = stored((await storeRefreshed(tx, [write]))[0])
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
  function failed(
    { row, owner, trigger, actor }: LeaseHold,
    failure: ProviderFailure,
    { now, retryAt }: { now: Date; retryAt: Date | null },
  ): Promise<Connection> {
    const failureCount = row.failureCount + 1
    const reauthorize = failure.kind === 'invalid_grant'
    return db.transaction(async (tx) => {
      const saved = await storeRefreshFailure(
        tx,
        { id: row.id, owner },
        {
          ...(reauthorize ? { status: 'reauthorization_required' as const } : {}),
          nextRefreshAt: reauthorize ? null : retryAt,
          failureCount,
          lastError: failure.message,
          lastErrorAt: now,
        },
      )
      if (!saved) throw new LeaseLostError()
      const retryInSeconds = retryAt && !reauthorize ? Math.round((retryAt.getTime() - now.getTime()) / 1000) : null
      await recordAudit(tx, {
        actor,
        action: reauthorize ? 'connection.reauthorization_required' : 'connection.refresh_failed',
        subjectType: 'connection',
        subjectId: row.id,
        namespace: row.namespace,
        providerId: row.providerId,
        userId: row.userId,
        detail: { trigger, failure: failure.kind, error: failure.message, failureCount, retryInSeconds },
      })
      if (reauthorize) {
        await emitConnectionEvent(
          tx,
          event(saved, 'connection.reauthorization_required', { reason: failure.kind }),
          now,
        )
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

  return { succeeded, failed }
}

/**
 * The refresh token's expiry after a refresh: the provider's refresh_token_expires_in when it sends one, else a
 * rotated token starts the lifetime rule again; undefined keeps the stored expiry (the same token, or no rule).
 */
function renewedRefreshTokenExpiry(
  response: client.TokenEndpointResponse,
  lifetimeSeconds: number | null,
  now: Date,
): Date | null | undefined {
  const given = refreshTokenExpiresIn(response)
  if (given !== undefined) return refreshTokenExpiry(now, given, null)
  if (response.refresh_token && lifetimeSeconds !== null) return refreshTokenExpiry(now, undefined, lifetimeSeconds)
  return undefined
}

function event(connection: Connection, type: ConnectionEventType, detail: Record<string, string | number>) {
  return {
    type,
    connectionId: connection.id,
    namespace: connection.namespace,
    providerId: connection.providerId,
    userId: connection.userId,
    status: connection.status,
    detail,
  }
}
