import { recordAudit, type Actor } from '../db/audit.js'
import {
  deleteConnection,
  findConnectionWithProvider,
  takeLeaseOrWait,
  type ConnectionKey,
  type ConnectionWithProvider,
} from '../db/connections/index.js'
import type { Deps } from '../deps.js'
import { notFound } from '../errors.js'
import { revokeAtProvider, type RevocationOutcome } from '../providers/revocation.js'
import { isUuid } from '../schemas/ids.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { assertProviderAllowed, type Caller } from './callers.js'
import { openAccessToken, openRefreshToken } from './connection-tokens.js'

type RevokeDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'now' | 'instanceId' | 'log' | 'timing'>

/**
 * Disconnects a user: revokes the refresh token and then the access token at the provider (RFC 7009) when it
 * has a revocation endpoint, then deletes the row, audited and announced in one transaction.
 *
 * A provider that fails to revoke does not keep the tokens here: the row is deleted anyway and the failure is
 * recorded in the audit entry and the event (`revocation: failed`). A user who disconnects wants the broker to
 * stop holding credentials; a provider outage must not make that impossible, and a token nobody holds any
 * more can only expire.
 */
export function createConnectionRevoker(
  deps: RevokeDeps,
  options: { onChange?: (connection: ConnectionKey) => void } = {},
) {
  const { db, keyring, log } = deps
  const leasePolicy = { instanceId: deps.instanceId, now: deps.now, leaseSeconds: deps.timing.leaseSeconds }

  async function find(which: { id: string } | ConnectionKey): Promise<ConnectionWithProvider | null> {
    if ('id' in which && !isUuid(which.id)) return null
    return findConnectionWithProvider(db, which)
  }

  /** Waits for a refresh in flight (its lease) so the newest refresh token is the one revoked. */
  async function leased(row: ConnectionWithProvider): Promise<ConnectionWithProvider> {
    const taken = await takeLeaseOrWait(db, row.id, leasePolicy, { waitMs: deps.timing.waitMs })
    if (taken.kind === 'leased') return taken.row
    log.warn({ connectionId: row.id }, 'deleting a connection whose lease is still held elsewhere')
    return (await find({ id: row.id })) ?? row
  }

  async function revoke(
    which: { id: string } | ConnectionKey,
    actor: Actor,
  ): Promise<{ revocation: RevocationOutcome }> {
    const found = await find(which)
    if (!found) throw notFound('connection')
    const row = await leased(found)
    // the row is deleted even when the provider fails to revoke (recorded as `revocation: failed`)
    const revocation = await revokeAtProvider(deps.providers, row.provider, {
      refreshToken: openRefreshToken(keyring, row)?.reveal(),
      accessToken: openAccessToken(keyring, row).reveal(),
    })
    if (revocation.outcome === 'failed') {
      log.warn({ connectionId: row.id, provider: row.providerId }, `revocation failed: ${revocation.error}`)
    }
    const now = deps.now()
    await db.transaction(async (tx) => {
      if (!(await deleteConnection(tx, row.id))) return
      const detail = { revocation: revocation.outcome, ...(revocation.error ? { error: revocation.error } : {}) }
      await recordAudit(tx, {
        actor,
        action: 'connection.revoked',
        subjectType: 'connection',
        subjectId: row.id,
        namespace: row.namespace,
        providerId: row.providerId,
        userId: row.userId,
        detail,
      })
      await emitConnectionEvent(
        tx,
        {
          type: 'connection.revoked',
          connectionId: row.id,
          namespace: row.namespace,
          providerId: row.providerId,
          userId: row.userId,
          status: 'revoked',
          detail: { revocation: revocation.outcome },
        },
        now,
      )
    })
    options.onChange?.(row)
    return { revocation: revocation.outcome }
  }

  return {
    revoke,
    /** DELETE /connections: a caller disconnects one of its users, at a provider it is allowed. */
    disconnect(
      caller: Caller,
      user: { providerId: string; userId: string },
    ): Promise<{ revocation: RevocationOutcome }> {
      assertProviderAllowed(caller, user.providerId)
      return revoke({ namespace: caller.namespace, ...user }, `client:${caller.id}`)
    },
  }
}

export type ConnectionRevoker = ReturnType<typeof createConnectionRevoker>
