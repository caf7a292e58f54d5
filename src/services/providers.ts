import type { CipherContext } from '../crypto/keyring.js'
import { recordAudit, type Actor } from '../db/audit.js'
import type { Db } from '../db/client.js'
import { countProviderConnections } from '../db/connections/index.js'
import { isUniqueViolation } from '../db/errors.js'
import type { Prisma, Provider } from '../db/generated/client.js'
import { providerIdCursor, limitOf, toPage, type Page, type PageRequest } from '../db/pagination.js'
import type { Deps } from '../deps.js'
import { BrokerError, conflict, invalidRequest, notFound } from '../errors.js'
import { checkProviderSettings, type CheckedSettings } from '../providers/check.js'
import type { TokenEndpointAuthMethod } from '../providers/client-auth.js'
import { clientSecretContext, fallbackClientSecretsContext, privateKeyContext } from '../providers/registry.js'
import type { ProviderView } from '../schemas/provider.js'
import { callbackUrl } from '../urls/public.js'
import type { ProviderInput } from './provider-input.js'

export type ProviderDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'config' | 'timing'>

export function toProviderView(row: Provider, publicUrl: URL): ProviderView {
  const {
    clientSecretEnc,
    privateKeyEnc,
    fallbackClientSecretsEnc,
    authorizationParams,
    tokenEndpointAuthMethod,
    connectionConfig,
    ...rest
  } = row
  return {
    ...rest,
    template: row.preset,
    connectionConfig: (connectionConfig ?? {}) as Record<string, string>,
    tokenEndpointAuthMethod: tokenEndpointAuthMethod as TokenEndpointAuthMethod,
    hasClientSecret: clientSecretEnc !== null,
    hasFallbackClientSecrets: fallbackClientSecretsEnc !== null,
    hasPrivateKey: privateKeyEnc !== null,
    authorizationParams: (authorizationParams ?? {}) as Record<string, string>,
    redirectUri: callbackUrl(publicUrl, row.id).href,
  }
}

// Everything stored for a provider except its id and secret; compared field by field to audit what changed.
function storedFields(input: ProviderInput) {
  return {
    preset: input.preset,
    connectionConfig: input.connectionConfig,
    displayName: input.displayName,
    issuer: input.issuer,
    authorizationEndpoint: input.authorizationEndpoint,
    tokenEndpoint: input.tokenEndpoint,
    revocationEndpoint: input.revocationEndpoint,
    clientId: input.clientId,
    tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
    scopes: input.scopes,
    allowedScopes: input.allowedScopes,
    authorizationParams: input.authorizationParams,
    pkce: input.pkce,
    defaultTokenLifetimeSeconds: input.defaultTokenLifetimeSeconds,
    refreshMarginSeconds: input.refreshMarginSeconds,
    refreshTokenLifetimeSeconds: input.refreshTokenLifetimeSeconds,
  } satisfies Partial<Prisma.ProviderUncheckedCreateInput>
}

function changedFields(row: Provider, fields: ReturnType<typeof storedFields>): string[] {
  return Object.entries(fields)
    .filter(([name, value]) => JSON.stringify(row[name as keyof Provider] ?? null) !== JSON.stringify(value))
    .map(([name]) => name)
}

/** The providers the admin manages; every change is audited and drops the cached discovery of that provider. */
export function createProviderService(deps: ProviderDeps) {
  const { db, keyring } = deps
  const view = (row: Provider) => toProviderView(row, deps.config.PUBLIC_URL)
  /** The first secret in its column, the others (a rotation) as a JSON list in theirs. */
  const sealSecrets = (id: string, [first, ...rest]: string[]) => ({
    clientSecretEnc: first === undefined ? null : keyring.encrypt(first, clientSecretContext(id)),
    fallbackClientSecretsEnc:
      rest.length === 0 ? null : keyring.encrypt(JSON.stringify(rest), fallbackClientSecretsContext(id)),
  })
  const sealKey = (id: string, key: string) => keyring.encrypt(key, privateKeyContext(id))
  const opened = (sealed: Uint8Array | null, context: CipherContext) =>
    sealed ? keyring.decrypt(sealed, context) : undefined

  async function writeUpdate(tx: Db, existing: Provider, input: ProviderInput, actor: Actor): Promise<Provider> {
    const fields = storedFields(input)
    const changed = changedFields(existing, fields)
    const secretGiven = input.clientSecret !== undefined
    const keyGiven = input.privateKey !== undefined
    if (input.tokenEndpointAuthMethod === 'private_key_jwt' && !keyGiven && existing.privateKeyEnc === null) {
      throw invalidRequest('privateKey is required with private_key_jwt')
    }
    const updated = await tx.prisma.provider.update({
      where: { id: input.id },
      data: {
        ...fields,
        ...(secretGiven ? sealSecrets(input.id, input.clientSecret as string[]) : {}),
        ...(keyGiven ? { privateKeyEnc: sealKey(input.id, input.privateKey as string) } : {}),
        ...(secretGiven || keyGiven
          ? {
              // new credentials: whatever was concluded about the old ones no longer holds
              credentialsStatus: 'ok',
              credentialsError: null,
              credentialsCheckedAt: null,
            }
          : {}),
      },
    })
    await recordAudit(tx, {
      actor,
      action: 'provider.updated',
      subjectType: 'provider',
      subjectId: input.id,
      providerId: input.id,
      detail: { changed, clientSecretReplaced: secretGiven, privateKeyReplaced: keyGiven },
    })
    return updated
  }

  const check = (settings: CheckedSettings) =>
    checkProviderSettings(settings, deps.providers.fetch, deps.timing.providerTimeoutSeconds)

  async function create(input: ProviderInput, actor: Actor, options: { check?: boolean } = {}): Promise<ProviderView> {
    const { id, clientSecret, privateKey } = input
    if (options.check) {
      const result = await check(input)
      const failed = result.checks.filter((item) => !item.ok)
      if (failed.length > 0) {
        throw new BrokerError('provider_check_failed', failed.map((item) => `${item.name}: ${item.detail}`).join('; '))
      }
    }
    let row: Provider
    try {
      row = await db.transaction(async (tx) => {
        const created = await tx.prisma.provider.create({
          data: {
            id,
            ...storedFields(input),
            ...sealSecrets(id, clientSecret ?? []),
            privateKeyEnc: privateKey === undefined ? null : sealKey(id, privateKey),
          },
        })
        await recordAudit(tx, {
          actor,
          action: 'provider.created',
          subjectType: 'provider',
          subjectId: id,
          providerId: id,
          detail: { preset: input.preset },
        })
        return created
      })
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`provider ${id} already exists`)
      throw err
    }
    deps.providers.invalidate(id)
    return view(row)
  }

  /** Replaces a provider's settings; its client secret only when one is given. */
  async function update(input: ProviderInput, actor: Actor): Promise<ProviderView> {
    const row = await db.transaction(async (tx) => {
      const existing = await tx.prisma.provider.findUnique({ where: { id: input.id } })
      if (!existing) throw notFound('provider')
      return writeUpdate(tx, existing, input, actor)
    })
    deps.providers.invalidate(input.id)
    return view(row)
  }

  return {
    async list(page: PageRequest): Promise<Page<ProviderView>> {
      const after = page.cursor === undefined ? undefined : providerIdCursor.decode(page.cursor)
      const rows = await db.prisma.provider.findMany({
        where: after === undefined ? {} : { id: { gt: after } },
        orderBy: { id: 'asc' },
        take: limitOf(page) + 1,
      })
      return toPage(rows, limitOf(page), view, providerIdCursor.keyOf)
    },

    async get(id: string): Promise<ProviderView> {
      const row = await db.prisma.provider.findUnique({ where: { id } })
      if (!row) throw notFound('provider')
      return view(row)
    },

    create,
    update,

    /** Whether the provider's discovery or endpoints answer, its issuer matches and its endpoints are https. */
    async check(id: string) {
      const row = await db.prisma.provider.findUnique({ where: { id } })
      if (!row) throw notFound('provider')
      return check(row)
    },

    /** Creates or updates; writes (and audits) only what differs. Used for PROVIDERS_FILE at start. */
    async upsert(input: ProviderInput, actor: Actor): Promise<'created' | 'updated' | 'unchanged'> {
      const existing = await db.prisma.provider.findUnique({ where: { id: input.id } })
      if (!existing) {
        await create(input, actor)
        return 'created'
      }
      const secretChanged =
        input.clientSecret !== undefined &&
        JSON.stringify(input.clientSecret) !== JSON.stringify(deps.providers.clientSecrets(existing))
      const keyChanged =
        input.privateKey !== undefined &&
        input.privateKey !== opened(existing.privateKeyEnc, privateKeyContext(existing.id))
      if (changedFields(existing, storedFields(input)).length === 0 && !secretChanged && !keyChanged) {
        return 'unchanged'
      }
      await update(input, actor)
      return 'updated'
    },

    /** Refused while connections use the provider: deleting it would drop their tokens without revoking them. */
    async remove(id: string, actor: Actor): Promise<void> {
      await db.transaction(async (tx) => {
        // the row lock makes a connection being stored right now (its foreign key check) wait, so the count holds
        const locked = await tx.prisma.$queryRaw<{ id: string }[]>`SELECT id FROM providers WHERE id = ${id} FOR UPDATE`
        if (locked.length === 0) throw notFound('provider')
        const connections = await countProviderConnections(tx, id)
        if (connections > 0) {
          throw conflict(
            `provider ${id} has ${connections} connection(s): delete them first (DELETE /admin/connections/:id)`,
          )
        }
        await tx.prisma.provider.delete({ where: { id } })
        await recordAudit(tx, {
          actor,
          action: 'provider.deleted',
          subjectType: 'provider',
          subjectId: id,
          providerId: id,
        })
      })
      deps.providers.invalidate(id)
    },
  }
}

export type ProviderService = ReturnType<typeof createProviderService>
