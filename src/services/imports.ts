// Importing tokens issued before the broker (from Nango, Vault's oauthapp, a table of one's own): each becomes the
// connection of (namespace, provider, userId), stored encrypted. Without an access token valid for a while the broker
// refreshes first and stores only what the provider accepted, so a dead refresh token is refused and never stored.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import * as client from 'openid-client'
import { Secret } from '../crypto/secret.js'
import { recordAudit } from '../db/audit.js'
import type { Db } from '../db/client.js'
import {
  findImportState,
  insertConnection,
  lockConnection,
  replaceConnectionTokens,
  type ConnectionKey,
  type GrantedFields,
} from '../db/connections/index.js'
import { isUniqueViolation } from '../db/errors.js'
import { withImportClaim } from '../db/import-claims.js'
import type { Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { BrokerError, conflict, notFound } from '../errors.js'
import { metadataOf, subjectOf } from '../providers/dialect.js'
import { classifyProviderError } from '../providers/failures.js'
import { tokenTypeName } from '../providers/token-type.js'
import { DEFAULT_NAMESPACE } from '../schemas/ids.js'
import type { ImportBody } from '../schemas/import.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { sealTokens, type GrantedTokens } from './connection-tokens.js'
import { grantFailureError } from './grant-failures.js'
import { nextRefreshAt, refreshTokenExpiresIn, refreshTokenExpiry, tokenLifetime } from './refresh-policy.js'
import { storeWithPatience } from './store-patience.js'

/** An imported access token is used as it is only if it stays valid this long; otherwise the broker refreshes. */
export const USABLE_ACCESS_TOKEN_SECONDS = 60

export interface ImportOutcome {
  kind: 'imported' | 'updated' | 'unchanged'
  connectionId: string
  refreshed: boolean
}

type ImportDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'config' | 'now' | 'log' | 'instanceId' | 'timing'>

const digestOf = (refreshToken: string) => new Uint8Array(createHash('sha256').update(refreshToken, 'utf8').digest())
const sameDigest = (a: Uint8Array | null, b: Uint8Array) => a !== null && a.length === b.length && timingSafeEqual(a, b)

export function createImports(deps: ImportDeps, options: { onChange?: (connection: ConnectionKey) => void } = {}) {
  const { db, keyring } = deps
  const claimPolicy = {
    instanceId: deps.instanceId,
    now: deps.now,
    leaseSeconds: deps.timing.leaseSeconds,
    waitMs: deps.timing.waitMs,
  }

  /** The tokens to store: the imported ones when the access token is usable, else those of a refresh made now. */
  async function tokensFor(
    provider: Provider,
    item: ImportBody,
  ): Promise<{
    tokens: GrantedTokens
    refreshed: boolean
    /** The imported access token's own expiry. */
    expiresAt?: Date
    response?: client.TokenEndpointResponse
  }> {
    const now = deps.now().getTime()
    const expiresAt = item.expiresAt === undefined ? undefined : Date.parse(item.expiresAt)
    if (item.accessToken && expiresAt !== undefined && expiresAt - now >= USABLE_ACCESS_TOKEN_SECONDS * 1000) {
      const tokens: GrantedTokens = {
        accessToken: new Secret(item.accessToken),
        refreshToken: new Secret(item.refreshToken),
        tokenType: 'Bearer',
        ...(item.scope ? { scope: item.scope } : {}),
      }
      return { tokens, refreshed: false, expiresAt: new Date(expiresAt) }
    }
    let response: client.TokenEndpointResponse
    try {
      const config = await deps.providers.configFor(provider)
      const { refreshParams } = deps.providers.dialectFor(provider)
      response = await client.refreshTokenGrant(config, item.refreshToken, refreshParams)
    } catch (err) {
      throw grantFailureError(classifyProviderError(err))
    }
    const tokens: GrantedTokens = {
      accessToken: new Secret(response.access_token),
      // a provider that does not rotate keeps the imported one valid
      refreshToken: new Secret(response.refresh_token ?? item.refreshToken),
      tokenType: response.token_type,
      ...(response.expires_in === undefined ? {} : { expiresIn: response.expires_in }),
      ...((response.scope ?? item.scope) ? { scope: response.scope ?? item.scope } : {}),
    }
    return { tokens, refreshed: true, response }
  }

  async function write(
    tx: Db,
    key: ConnectionKey,
    provider: Provider,
    item: ImportBody,
    obtained: Awaited<ReturnType<typeof tokensFor>>,
    digest: Uint8Array<ArrayBuffer>,
  ): Promise<ImportOutcome> {
    const now = deps.now()
    const existing = await lockConnection(tx, key)
    if (existing && existing.grantType === 'client_credentials') throw machineConnectionExists()
    // this very import, stored by an attempt whose answer was lost (the database went away after its commit)
    if (existing && sameDigest(existing.importDigest, digest)) {
      return { kind: 'unchanged', connectionId: existing.id, refreshed: obtained.refreshed }
    }
    const id = existing?.id ?? randomUUID()
    const { tokens, refreshed, response } = obtained
    const sealed = sealTokens(keyring, id, tokens)
    // an imported token's lifetime is not known, only when it ends: the provider's default stands in
    const lifetimeSeconds = tokenLifetime(tokens.expiresIn, provider.defaultTokenLifetimeSeconds)
    const expiresAt = obtained.expiresAt ?? new Date(now.getTime() + lifetimeSeconds * 1000)
    const timing = {
      expiresAt,
      lifetimeSeconds,
      hasRefreshToken: true,
      providerMarginSeconds: provider.refreshMarginSeconds,
    }
    const dialect = deps.providers.dialectFor(provider)
    const fields: GrantedFields = {
      status: 'active',
      subject: item.subject ?? (response ? subjectOf(response, dialect) : null),
      accessTokenEnc: sealed.accessTokenEnc,
      refreshTokenEnc: sealed.refreshTokenEnc ?? null,
      tokenType: tokenTypeName(tokens.tokenType),
      scope: tokens.scope ?? null,
      metadata: { ...item.metadata, ...(response ? metadataOf(response, dialect) : {}) },
      expiresAt,
      lifetimeSeconds,
      nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
      grantType: 'authorization_code',
      importDigest: digest,
      // known only when the provider was asked just now; a new refresh token may be warned of again
      refreshTokenExpiresAt: response
        ? refreshTokenExpiry(
            now,
            refreshTokenExpiresIn(response),
            response.refresh_token ? provider.refreshTokenLifetimeSeconds : null,
          )
        : null,
      expiryWarnedAt: null,
      ...(refreshed ? { lastRefreshedAt: now } : {}),
    }
    if (existing) await replaceConnectionTokens(tx, id, fields)
    else await insertConnection(tx, { id, key, createdByClientId: null, fields })
    const replaced = existing !== undefined
    await recordAudit(tx, {
      actor: 'admin',
      action: 'connection.imported',
      subjectType: 'connection',
      subjectId: id,
      ...key,
      detail: { replaced, refreshed, scope: fields.scope },
    })
    await emitConnectionEvent(
      tx,
      {
        type: 'connection.created',
        connectionId: id,
        ...key,
        status: 'active',
        detail: { replaced, accountChanged: false, imported: true },
      },
      now,
    )
    return { kind: replaced ? 'updated' : 'imported', connectionId: id, refreshed }
  }

  async function importOne(item: ImportBody, provider: Provider): Promise<ImportOutcome> {
    const key = { namespace: item.namespace ?? DEFAULT_NAMESPACE, providerId: provider.id, userId: item.userId }
    // the same import sent twice at once (a retry to another instance, while the first still runs) would present the
    // refresh token twice: the second waits for the first, and then finds the token it stored
    const claimed = await withImportClaim(db, key, claimPolicy, () => importClaimed(key, item, provider))
    if (claimed.kind === 'timed_out') throw conflict('another import of this connection is in progress; try again')
    return claimed.value
  }

  async function importClaimed(key: ConnectionKey, item: ImportBody, provider: Provider): Promise<ImportOutcome> {
    const digest = digestOf(item.refreshToken)
    const found = await findImportState(db, key)
    if (found?.grantType === 'client_credentials') throw machineConnectionExists()
    // the same refresh token imported again: the connection may hold a newer one since (rotated), which the old one
    // must not replace, nor be presented for a refresh (a provider revokes a grant whose used token comes back)
    if (found && sameDigest(found.importDigest, digest)) {
      return { kind: 'unchanged', connectionId: found.id, refreshed: false }
    }
    const obtained = await tokensFor(provider, item)
    const store = async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction((tx) => write(tx, key, provider, item, obtained, digest))
        } catch (err) {
          // the same user imported twice at one moment: the retry finds and locks the row
          if (attempt < 3 && isUniqueViolation(err)) continue
          throw err
        }
      }
    }
    // refreshed just now, the provider may have rotated the imported token: the new one exists only here, so its
    // write waits for a database it cannot reach, as a refresh's does (once it has landed, the same import sent
    // again finds the imported token's digest and leaves the connection alone)
    const outcome = obtained.refreshed
      ? await storeWithPatience(store, {
          log: deps.log,
          what: 'storing an imported connection',
          final: (err) => err instanceof BrokerError,
        })
      : await store()
    options.onChange?.(key)
    return outcome
  }

  async function refused(item: ImportBody, err: BrokerError): Promise<void> {
    await recordAudit(db, {
      actor: 'admin',
      action: 'connection.import_refused',
      subjectType: 'connection',
      namespace: item.namespace ?? DEFAULT_NAMESPACE,
      providerId: item.provider,
      userId: item.userId,
      detail: { error: err.code, message: err.message },
    })
  }

  return {
    /**
     * Imports one connection, or refuses it (nothing stored, audited) with the BrokerError that says why. `cache`
     * remembers the providers read, for a bulk import.
     */
    async import(item: ImportBody, cache: Map<string, Promise<Provider | null>> = new Map()): Promise<ImportOutcome> {
      try {
        let provider = cache.get(item.provider)
        if (!provider)
          cache.set(item.provider, (provider = db.prisma.provider.findUnique({ where: { id: item.provider } })))
        const found = await provider
        if (!found) throw notFound('provider')
        return await importOne(item, found)
      } catch (err) {
        if (err instanceof BrokerError) await refused(item, err)
        throw err
      }
    },
  }
}

const machineConnectionExists = () => conflict('a machine connection of this provider has this user id')

export type Imports = ReturnType<typeof createImports>
