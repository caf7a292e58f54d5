import type { Deps } from '../app.js'
import type { ApiClient, Prisma } from '../db/generated/client.js'
import { invalidRequest, notFound } from '../errors.js'
import { recordAudit, type Actor } from './audit.js'
import { generateApiKey } from './api-keys.js'
import { decodeCursor, toPage, type Page } from './pagination.js'
import { PROVIDER_ID } from './provider-input.js'
import { returnToPrefix } from './return-to.js'

/** An internal caller as the admin API shows it: the key only by its prefix. */
export interface ClientView {
  id: string
  name: string
  keyPrefix: string
  allowedProviders: string[]
  allowedReturnTo: string[]
  createdAt: Date
  revokedAt: Date | null
}

export interface ClientInput {
  name: string
  allowedProviders: string[]
  allowedReturnTo: string[]
}

export function toClientView({ keyHash: _keyHash, ...row }: ApiClient): ClientView {
  return row
}

/** Validates a new caller: known shapes of provider ids, return URLs normalized (see return-to.ts). */
export function parseClientInput(body: { name: unknown; allowedProviders?: unknown; allowedReturnTo?: unknown }) {
  const { name, allowedProviders = [], allowedReturnTo = [] } = body
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
    throw invalidRequest('name must be a string of 1 to 200 characters')
  }
  if (
    !Array.isArray(allowedProviders) ||
    !allowedProviders.every((id) => typeof id === 'string' && PROVIDER_ID.test(id))
  ) {
    throw invalidRequest('allowedProviders must be a list of provider ids')
  }
  if (!Array.isArray(allowedReturnTo) || !allowedReturnTo.every((prefix) => typeof prefix === 'string')) {
    throw invalidRequest('allowedReturnTo must be a list of URL prefixes')
  }
  return {
    name: name.trim(),
    allowedProviders: [...new Set(allowedProviders as string[])],
    allowedReturnTo: [...new Set((allowedReturnTo as string[]).map(returnToPrefix))],
  } satisfies ClientInput
}

/** Issues a caller and its API key; the key is returned here once and stored only as a hash. */
export async function createClient(
  deps: Pick<Deps, 'prisma'>,
  input: ClientInput,
  actor: Actor,
): Promise<{ client: ClientView; apiKey: string }> {
  const { apiKey, keyHash, keyPrefix } = generateApiKey()
  const row = await deps.prisma.$transaction(async (tx) => {
    const created = await tx.apiClient.create({ data: { ...input, keyHash, keyPrefix } })
    await recordAudit(tx, {
      actor,
      action: 'client.created',
      subjectType: 'client',
      subjectId: created.id,
      detail: { name: input.name, allowedProviders: input.allowedProviders },
    })
    return created
  })
  return { client: toClientView(row), apiKey }
}

/** Callers newest first; revoked ones only when asked for (then flagged by `revokedAt`). */
export async function listClients(
  deps: Pick<Deps, 'prisma'>,
  { limit, cursor, includeRevoked }: { limit: number; cursor?: string; includeRevoked?: boolean },
): Promise<Page<ClientView>> {
  const where: Prisma.ApiClientWhereInput = includeRevoked ? {} : { revokedAt: null }
  if (cursor) {
    const [createdAt = '', id = ''] = decodeCursor(cursor, 2)
    const after = new Date(createdAt)
    if (Number.isNaN(after.getTime()) || !UUID.test(id)) throw invalidRequest('invalid cursor')
    where.OR = [{ createdAt: { lt: after } }, { createdAt: after, id: { lt: id } }]
  }
  const rows = await deps.prisma.apiClient.findMany({
    where,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
  })
  return toPage(rows, limit, toClientView, (row) => [row.createdAt.toISOString(), row.id])
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Revokes a caller's key; revoking twice keeps the first time. Takes effect within the auth cache's TTL. */
export async function revokeClient(deps: Pick<Deps, 'prisma' | 'now'>, id: string, actor: Actor): Promise<void> {
  if (!UUID.test(id)) throw notFound('client')
  await deps.prisma.$transaction(async (tx) => {
    const existing = await tx.apiClient.findUnique({ where: { id }, select: { revokedAt: true } })
    if (!existing) throw notFound('client')
    if (existing.revokedAt) return
    await tx.apiClient.update({ where: { id }, data: { revokedAt: deps.now() } })
    await recordAudit(tx, { actor, action: 'client.revoked', subjectType: 'client', subjectId: id })
  })
}
