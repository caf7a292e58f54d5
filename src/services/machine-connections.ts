// Machine connections: tokens for the broker's own client at a provider (the client-credentials grant, RFC 6749 §4.4),
// no user involved. Stored as connections whose userId is the machine's name, served by GET /tokens and renewed by the
// scheduler like any other: the refresh path asks again instead of presenting a refresh token.
import { randomUUID } from 'node:crypto'
import { Secret } from '../crypto/secret.js'
import { recordAudit } from '../db/audit.js'
import {
  findConnectionWithProvider,
  insertConnection,
  lockConnection,
  replaceConnectionTokens,
  type ConnectionKey,
} from '../db/connections/index.js'
import type { Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { conflict, notFound } from '../errors.js'
import { requestClientCredentials } from '../providers/client-credentials.js'
import { metadataOf } from '../providers/dialect.js'
import { classifyProviderError } from '../providers/failures.js'
import { tokenTypeName } from '../providers/token-type.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { sealTokens } from './connection-tokens.js'
import { grantFailureError } from './grant-failures.js'
import { nextRefreshAt, tokenLifetime } from './refresh-policy.js'
import type { ConnectionRevoker } from './revoke-connection.js'

type MachineDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'config' | 'now'>

const userConnectionExists = () =>
  conflict('a user connection of this provider has this name; a machine connection needs a name of its own')

export function createMachineConnections(
  deps: MachineDeps,
  { revoker, onChange }: { revoker: ConnectionRevoker; onChange?: (connection: ConnectionKey) => void },
) {
  const { db, keyring } = deps

  async function providerOf(id: string): Promise<Provider> {
    const provider = await db.prisma.provider.findUnique({ where: { id } })
    if (!provider) throw notFound('provider')
    return provider
  }

  return {
    /**
     * Creates or replaces the machine connection `key` with a token granted now: the grant is asked for before
     * anything is written, so a provider that refuses it leaves nothing stored (and an existing one as it was).
     */
    async put(key: ConnectionKey, scopes: string[]): Promise<{ id: string; created: boolean }> {
      const provider = await providerOf(key.providerId)
      const found = await findConnectionWithProvider(db, key)
      if (found && found.grantType !== 'client_credentials') throw userConnectionExists()
      let response
      try {
        response = await requestClientCredentials(deps.providers, provider, scopes)
      } catch (err) {
        throw grantFailureError(classifyProviderError(err))
      }
      const now = deps.now()
      const lifetimeSeconds = tokenLifetime(response.expires_in, provider.defaultTokenLifetimeSeconds)
      const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
      const timing = {
        expiresAt,
        lifetimeSeconds,
        hasRefreshToken: true,
        providerMarginSeconds: provider.refreshMarginSeconds,
      }
      const result = await db.transaction(async (tx) => {
        const existing = await lockConnection(tx, key)
        if (existing && existing.grantType !== 'client_credentials') throw userConnectionExists()
        const id = existing?.id ?? randomUUID()
        const sealed = sealTokens(keyring, id, {
          accessToken: new Secret(response.access_token),
          tokenType: response.token_type,
        })
        const fields = {
          status: 'active' as const,
          subject: null,
          accessTokenEnc: sealed.accessTokenEnc,
          refreshTokenEnc: null,
          tokenType: tokenTypeName(response.token_type),
          scope: response.scope ?? (scopes.length > 0 ? scopes.join(' ') : null),
          metadata: metadataOf(response, deps.providers.dialectFor(provider)),
          expiresAt,
          lifetimeSeconds,
          nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
          grantType: 'client_credentials' as const,
          requestedScopes: scopes,
          lastRefreshedAt: now,
        }
        if (existing) await replaceConnectionTokens(tx, id, fields)
        else await insertConnection(tx, { id, key, createdByClientId: null, fields })
        const replaced = existing !== undefined
        await recordAudit(tx, {
          actor: 'admin',
          action: replaced ? 'machine_connection.updated' : 'machine_connection.created',
          subjectType: 'connection',
          subjectId: id,
          ...key,
          detail: { grantType: 'client_credentials', scopes, lifetimeSeconds },
        })
        await emitConnectionEvent(
          tx,
          {
            type: 'connection.created',
            connectionId: id,
            ...key,
            status: 'active',
            detail: { replaced, accountChanged: false, grantType: 'client_credentials' },
          },
          now,
        )
        return { id, created: !replaced }
      })
      onChange?.(key)
      return result
    },

    /** Revokes (where the provider can) and deletes the machine connection `key`; a user connection is not one. */
    async remove(key: ConnectionKey): Promise<void> {
      const found = await findConnectionWithProvider(db, key)
      if (!found || found.grantType !== 'client_credentials') throw notFound('machine connection')
      await revoker.revoke({ id: found.id }, 'admin')
    },
  }
}

export type MachineConnections = ReturnType<typeof createMachineConnections>
