import { recordAudit, type Actor } from '../db/audit.js'
import type { Db } from '../db/client.js'
import type { ApiClient } from '../db/generated/client.js'
import { afterTimeId, timeIdCursor, limitOf, toPage, type Page, type PageRequest } from '../db/pagination.js'
import type { Deps } from '../deps.js'
import { conflict, invalidRequest, notFound } from '../errors.js'
import type { ClientCreateBody, ClientUpdateBody, ClientView } from '../schemas/client.js'
import { DEFAULT_NAMESPACE, isUuid } from '../schemas/ids.js'
import { returnToPrefix } from '../urls/return-to.js'
import { generateApiKey } from './api-keys.js'
import type { CallerChange } from './callers.js'

export function toClientView({
  keyHash: _keyHash,
  previousKeyHash: _previousKeyHash,
  updatedAt: _updatedAt,
  ...row
}: ApiClient): ClientView {
  return row
}

// return URLs normalized (see return-to.ts); lists without repeats
function normalized(body: ClientUpdateBody) {
  return {
    ...(body.name === undefined ? {} : { name: body.name.trim() }),
    ...(body.allowedProviders === undefined ? {} : { allowedProviders: [...new Set(body.allowedProviders)] }),
    ...(body.allowedReturnTo === undefined
      ? {}
      : { allowedReturnTo: [...new Set(body.allowedReturnTo.map(returnToPrefix))] }),
  }
}

/** A caller may only be allowed providers that exist: a typo would otherwise show up as 403s much later. */
async function assertProvidersExist(db: Db, ids: string[] | undefined): Promise<void> {
  if (!ids || ids.length === 0) return
  const found = await db.prisma.provider.findMany({ where: { id: { in: ids } }, select: { id: true } })
  const missing = ids.filter((id) => !found.some((row) => row.id === id))
  if (missing.length > 0) {
    throw invalidRequest(`allowedProviders names providers that do not exist: ${missing.join(', ')}`)
  }
}

async function findActive(db: Db, id: string): Promise<ApiClient> {
  const row = isUuid(id) ? await db.prisma.apiClient.findUnique({ where: { id } }) : null
  if (!row) throw notFound('client')
  if (row.revokedAt) throw conflict('the client is revoked')
  return row
}

/** The internal callers the admin issues, lists and revokes. */
export function createClientService(
  deps: Pick<Deps, 'db' | 'now'>,
  options: { onChange?: (clientId: string, change: CallerChange) => void } = {},
) {
  const { db } = deps
  return {
    /** Issues a caller and its API key; the key is returned here once and stored only as a hash. */
    async create(body: ClientCreateBody, actor: Actor): Promise<{ client: ClientView; apiKey: string }> {
      const input = {
        name: body.name.trim(),
        namespace: body.namespace ?? DEFAULT_NAMESPACE,
        allowedProviders: [],
        allowedReturnTo: [],
        ...normalized(body),
      }
      const { apiKey, keyHash, keyPrefix } = generateApiKey()
      const row = await db.transaction(async (tx) => {
        await assertProvidersExist(tx, input.allowedProviders)
        const created = await tx.prisma.apiClient.create({ data: { ...input, keyHash, keyPrefix } })
        await recordAudit(tx, {
          actor,
          action: 'client.created',
          subjectType: 'client',
          subjectId: created.id,
          namespace: input.namespace,
          detail: { name: input.name, allowedProviders: input.allowedProviders },
        })
        return created
      })
      return { client: toClientView(row), apiKey }
    },

    /** Changes a caller's name, allowed providers or return URLs; its key stays. Takes effect within the key cache. */
    async update(id: string, body: ClientUpdateBody, actor: Actor): Promise<ClientView> {
      const changes = normalized(body)
      const row = await db.transaction(async (tx) => {
        await findActive(tx, id)
        await assertProvidersExist(tx, changes.allowedProviders)
        const updated = await tx.prisma.apiClient.update({ where: { id }, data: { ...changes, updatedAt: deps.now() } })
        await recordAudit(tx, {
          actor,
          action: 'client.updated',
          subjectType: 'client',
          subjectId: id,
          detail: { changed: Object.keys(changes), ...changes },
        })
        return updated
      })
      options.onChange?.(id, 'updated')
      return toClientView(row)
    },

    /**
     * Issues a new key; the current one keeps working for `graceSeconds` (so callers can be redeployed with the new
     * one), then stops. A key replaced by an earlier rotation stops at once.
     */
    async rotateKey(id: string, graceSeconds: number, actor: Actor): Promise<{ client: ClientView; apiKey: string }> {
      const { apiKey, keyHash, keyPrefix } = generateApiKey()
      const row = await db.transaction(async (tx) => {
        const current = await findActive(tx, id)
        const now = deps.now()
        const rotated = await tx.prisma.apiClient.update({
          where: { id },
          data: {
            keyHash,
            keyPrefix,
            previousKeyHash: current.keyHash,
            previousKeyExpiresAt: new Date(now.getTime() + graceSeconds * 1000),
            keyRotatedAt: now,
          },
        })
        await recordAudit(tx, {
          actor,
          action: 'client.key_rotated',
          subjectType: 'client',
          subjectId: id,
          detail: { keyPrefix, previousKeyPrefix: current.keyPrefix, graceSeconds },
        })
        return rotated
      })
      options.onChange?.(id, 'key_rotated')
      return { client: toClientView(row), apiKey }
    },

    /** Callers newest first; revoked ones only when asked for (then flagged by `revokedAt`). */
    async list({ includeRevoked, ...page }: PageRequest & { includeRevoked?: boolean }): Promise<Page<ClientView>> {
      const after = page.cursor === undefined ? undefined : timeIdCursor.decode(page.cursor)
      const rows = await db.prisma.apiClient.findMany({
        where: { ...(includeRevoked ? {} : { revokedAt: null }), ...afterTimeId(after) },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limitOf(page) + 1,
      })
      return toPage(rows, limitOf(page), toClientView, timeIdCursor.keyOf)
    },

    /** Revokes a caller's key; revoking twice keeps the first time. At once here, within the auth cache's TTL elsewhere. */
    async revoke(id: string, actor: Actor): Promise<void> {
      if (!isUuid(id)) throw notFound('client')
      await db.transaction(async (tx) => {
        const existing = await tx.prisma.apiClient.findUnique({
          where: { id },
          select: { revokedAt: true, namespace: true },
        })
        if (!existing) throw notFound('client')
        if (existing.revokedAt) return
        await tx.prisma.apiClient.update({ where: { id }, data: { revokedAt: deps.now() } })
        await recordAudit(tx, {
          actor,
          action: 'client.revoked',
          subjectType: 'client',
          subjectId: id,
          namespace: existing.namespace,
        })
      })
      options.onChange?.(id, 'revoked')
    },
  }
}

export type ClientService = ReturnType<typeof createClientService>
