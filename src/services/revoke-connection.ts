import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import * as client from 'openid-client'
import type { Deps } from '../app.js'
import { takeLease, type ConnectionWithProvider } from '../db/connection-leases.js'
import { notFound } from '../errors.js'
import { classifyProviderError } from '../providers/failures.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { recordAudit, type Actor } from './audit.js'
import { openAccessToken, openRefreshToken } from './connection-tokens.js'

export type ConnectionKey = { id: string } | { providerId: string; userId: string }

/** What happened at the provider: `revoked`, `failed` (deleted anyway), or `unsupported` (no revocation endpoint). */
export type RevocationOutcome = 'revoked' | 'failed' | 'unsupported'

type RevokeDeps = Pick<Deps, 'prisma' | 'keyring' | 'providers' | 'now' | 'instanceId' | 'log'>

const POLL_MS = 100
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

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
  options: {
    leaseSeconds: number
    waitMs: number
    onChange?: (connection: { providerId: string; userId: string }) => void
  },
) {
  const { prisma, keyring, log } = deps

  async function find(key: ConnectionKey): Promise<ConnectionWithProvider | null> {
    if ('id' in key) {
      if (!UUID.test(key.id)) return null
      return prisma.connection.findUnique({ where: { id: key.id }, include: { provider: true } })
    }
    return prisma.connection.findUnique({ where: { providerId_userId: key }, include: { provider: true } })
  }

  /** Waits for a refresh in flight (its lease) so the newest refresh token is the one revoked. */
  async function leased(row: ConnectionWithProvider): Promise<ConnectionWithProvider> {
    const owner = `${deps.instanceId}/${randomBytes(6).toString('base64url')}`
    const deadline = Date.now() + options.waitMs
    for (;;) {
      const now = deps.now()
      const taken = await takeLease(prisma, row.id, {
        owner,
        now,
        until: new Date(now.getTime() + options.leaseSeconds * 1000),
      })
      if (taken) return taken
      if (Date.now() >= deadline) {
        log.warn({ connectionId: row.id }, 'deleting a connection whose lease is still held elsewhere')
        return (await find({ id: row.id })) ?? row
      }
      await sleep(POLL_MS)
    }
  }

  async function revokeAtProvider(
    row: ConnectionWithProvider,
  ): Promise<{ outcome: RevocationOutcome; error?: string }> {
    let config: client.Configuration
    try {
      config = await deps.providers.configFor(row.provider)
    } catch (err) {
      return { outcome: 'failed', error: classifyProviderError(err).message }
    }
    if (!config.serverMetadata().revocation_endpoint) return { outcome: 'unsupported' }
    const tokens: Array<[string | undefined, 'refresh_token' | 'access_token']> = [
      [openRefreshToken(keyring, row)?.reveal(), 'refresh_token'],
      [openAccessToken(keyring, row).reveal(), 'access_token'],
    ]
    let error: string | undefined
    for (const [token, hint] of tokens) {
      if (!token) continue
      try {
        await client.tokenRevocation(config, token, { token_type_hint: hint })
      } catch (err) {
        error ??= `${hint}: ${classifyProviderError(err).message}`
      }
    }
    return error ? { outcome: 'failed', error } : { outcome: 'revoked' }
  }

  async function revoke(key: ConnectionKey, actor: Actor): Promise<{ revocation: RevocationOutcome }> {
    const found = await find(key)
    if (!found) throw notFound('connection')
    const row = await leased(found)
    const revocation = await revokeAtProvider(row)
    if (revocation.outcome === 'failed') {
      log.warn({ connectionId: row.id, provider: row.providerId }, `revocation failed: ${revocation.error}`)
    }
    const now = deps.now()
    await prisma.$transaction(async (tx) => {
      const { count } = await tx.connection.deleteMany({ where: { id: row.id } })
      if (count === 0) return
      const detail = { revocation: revocation.outcome, ...(revocation.error ? { error: revocation.error } : {}) }
      await recordAudit(tx, {
        actor,
        action: 'connection.revoked',
        subjectType: 'connection',
        subjectId: row.id,
        providerId: row.providerId,
        userId: row.userId,
        detail,
      })
      await emitConnectionEvent(
        tx,
        {
          type: 'connection.revoked',
          connectionId: row.id,
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

  return { revoke }
}

export type ConnectionRevoker = ReturnType<typeof createConnectionRevoker>
