import { recordAudit, type Actor } from '../db/audit.js'
import type { ApiClient } from '../db/generated/client.js'
import { afterTimeId, timeIdCursor, limitOf, toPage, type Page, type PageRequest } from '../db/pagination.js'
import type { Deps } from '../deps.js'
import { notFound } from '../errors.js'
import type { ClientCreateBody, ClientView } from '../schemas/client.js'
import { DEFAULT_NAMESPACE, isUuid } from '../schemas/ids.js'
import { returnToPrefix } from '../urls/return-to.js'
import { generateApiKey } from './api-keys.js'

export function toClientView({ keyHash: _keyHash, ...row }: ApiClient): ClientView {
  return row
}

/** The internal callers the admin issues, lists and revokes. */
export function createClientService(deps: Pick<Deps, 'db' | 'now'>) {
  const { db } = deps
  return {
    /** Issues a caller and its API key; the key is returned here once and stored only as a hash. */
    async create(body: ClientCreateBody, actor: Actor): Promise<{ client: ClientView; apiKey: string }> {
      const input = {
        name: body.name.trim(),
        namespace: body.namespace ?? DEFAULT_NAMESPACE,
        allowedProviders: [...new Set(body.allowedProviders ?? [])],
        // return URLs normalized (see return-to.ts)
        allowedReturnTo: [...new Set((body.allowedReturnTo ?? []).map(returnToPrefix))],
      }
      const { apiKey, keyHash, keyPrefix } = generateApiKey()
      const row = await db.transaction(async (tx) => {
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

    /** Revokes a caller's key; revoking twice keeps the first time. Takes effect within the auth cache's TTL. */
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
    },
  }
}

export type ClientService = ReturnType<typeof createClientService>
