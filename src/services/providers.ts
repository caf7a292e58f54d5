import type { Deps } from '../app.js'
import type { DbClient } from '../db/client.js'
import { isUniqueViolation } from '../db/errors.js'
import type { Prisma, Provider } from '../db/generated/client.js'
import { conflict, notFound } from '../errors.js'
import { clientSecretContext } from '../providers/registry.js'
import { recordAudit, type Actor } from './audit.js'
import { decodeCursor, toPage, type Page } from './pagination.js'
import type { ProviderInput } from './provider-input.js'
import { callbackUrl } from './public-urls.js'

export type ProviderDeps = Pick<Deps, 'prisma' | 'keyring' | 'providers' | 'config'>

/** A provider as the admin API shows it: the client secret only as `hasClientSecret`. */
export interface ProviderView {
  id: string
  preset: string | null
  displayName: string | null
  issuer: string | null
  authorizationEndpoint: string | null
  tokenEndpoint: string | null
  revocationEndpoint: string | null
  clientId: string
  hasClientSecret: boolean
  tokenEndpointAuthMethod: string
  scopes: string[]
  authorizationParams: Record<string, string>
  pkce: boolean
  defaultTokenLifetimeSeconds: number
  refreshMarginSeconds: number | null
  credentialsStatus: string
  credentialsError: string | null
  credentialsCheckedAt: Date | null
  redirectUri: string
  createdAt: Date
  updatedAt: Date
}

export function toProviderView(row: Provider, publicUrl: URL): ProviderView {
  const { clientSecretEnc, authorizationParams, ...rest } = row
  return {
    ...rest,
    hasClientSecret: clientSecretEnc !== null,
    authorizationParams: (authorizationParams ?? {}) as Record<string, string>,
    redirectUri: callbackUrl(publicUrl, row.id).href,
  }
}

// Everything stored for a provider except its id and secret; compared field by field to audit what changed.
function storedFields(input: ProviderInput) {
  return {
    preset: input.preset,
    displayName: input.displayName,
    issuer: input.issuer,
    authorizationEndpoint: input.authorizationEndpoint,
    tokenEndpoint: input.tokenEndpoint,
    revocationEndpoint: input.revocationEndpoint,
    clientId: input.clientId,
    tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
    scopes: input.scopes,
    authorizationParams: input.authorizationParams,
    pkce: input.pkce,
    defaultTokenLifetimeSeconds: input.defaultTokenLifetimeSeconds,
    refreshMarginSeconds: input.refreshMarginSeconds,
  } satisfies Partial<Prisma.ProviderUncheckedCreateInput>
}

function changedFields(row: Provider, fields: ReturnType<typeof storedFields>): string[] {
  return Object.entries(fields)
    .filter(([name, value]) => JSON.stringify(row[name as keyof Provider] ?? null) !== JSON.stringify(value))
    .map(([name]) => name)
}

export async function listProviders(
  deps: ProviderDeps,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<ProviderView>> {
  const after = cursor ? decodeCursor(cursor, 1)[0] : undefined
  const rows = await deps.prisma.provider.findMany({
    where: after === undefined ? {} : { id: { gt: after } },
    orderBy: { id: 'asc' },
    take: limit + 1,
  })
  return toPage(
    rows,
    limit,
    (row) => toProviderView(row, deps.config.PUBLIC_URL),
    (row) => [row.id],
  )
}

export async function getProvider(deps: Pick<Deps, 'prisma' | 'config'>, id: string): Promise<ProviderView> {
  const row = await deps.prisma.provider.findUnique({ where: { id } })
  if (!row) throw notFound('provider')
  return toProviderView(row, deps.config.PUBLIC_URL)
}

export async function createProvider(deps: ProviderDeps, input: ProviderInput, actor: Actor): Promise<ProviderView> {
  const { id, clientSecret } = input
  let row: Provider
  try {
    row = await deps.prisma.$transaction(async (tx) => {
      const created = await tx.provider.create({
        data: {
          id,
          ...storedFields(input),
          clientSecretEnc:
            clientSecret === undefined ? null : deps.keyring.encrypt(clientSecret, clientSecretContext(id)),
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
  return toProviderView(row, deps.config.PUBLIC_URL)
}

/** Replaces a provider's settings; its client secret only when one is given. */
export async function updateProvider(deps: ProviderDeps, input: ProviderInput, actor: Actor): Promise<ProviderView> {
  const row = await deps.prisma.$transaction(async (tx) => {
    const existing = await tx.provider.findUnique({ where: { id: input.id } })
    if (!existing) throw notFound('provider')
    return writeUpdate(deps, tx, existing, input, actor)
  })
  deps.providers.invalidate(input.id)
  return toProviderView(row, deps.config.PUBLIC_URL)
}

/** Creates or updates; writes (and audits) only what differs. Used for PROVIDERS_FILE at start. */
export async function upsertProvider(
  deps: ProviderDeps,
  input: ProviderInput,
  actor: Actor,
): Promise<'created' | 'updated' | 'unchanged'> {
  const existing = await deps.prisma.provider.findUnique({ where: { id: input.id } })
  if (!existing) {
    await createProvider(deps, input, actor)
    return 'created'
  }
  const secretChanged = input.clientSecret !== undefined && input.clientSecret !== storedSecret(deps, existing)
  if (changedFields(existing, storedFields(input)).length === 0 && !secretChanged) return 'unchanged'
  await updateProvider(deps, input, actor)
  return 'updated'
}

function storedSecret(deps: Pick<Deps, 'keyring'>, row: Provider): string | undefined {
  return row.clientSecretEnc ? deps.keyring.decrypt(row.clientSecretEnc, clientSecretContext(row.id)) : undefined
}

async function writeUpdate(deps: ProviderDeps, tx: DbClient, existing: Provider, input: ProviderInput, actor: Actor) {
  const fields = storedFields(input)
  const changed = changedFields(existing, fields)
  const secretGiven = input.clientSecret !== undefined
  const updated = await tx.provider.update({
    where: { id: input.id },
    data: {
      ...fields,
      ...(secretGiven
        ? {
            clientSecretEnc: deps.keyring.encrypt(input.clientSecret as string, clientSecretContext(input.id)),
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
    detail: { changed, clientSecretReplaced: secretGiven },
  })
  return updated
}

/** Refused while connections use the provider: deleting it would drop their tokens without revoking them. */
export async function deleteProvider(deps: ProviderDeps, id: string, actor: Actor): Promise<void> {
  await deps.prisma.$transaction(async (tx) => {
    // the row lock makes a connection being stored right now (its foreign key check) wait, so the count holds
    const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM providers WHERE id = ${id} FOR UPDATE`
    if (locked.length === 0) throw notFound('provider')
    const connections = await tx.connection.count({ where: { providerId: id } })
    if (connections > 0) {
      throw conflict(
        `provider ${id} has ${connections} connection(s): delete them first (DELETE /admin/connections/:id)`,
      )
    }
    await tx.provider.delete({ where: { id } })
    await recordAudit(tx, { actor, action: 'provider.deleted', subjectType: 'provider', subjectId: id, providerId: id })
  })
  deps.providers.invalidate(id)
}
