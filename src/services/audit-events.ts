import type { DbClient } from '../db/client.js'
import type { Prisma } from '../db/generated/client.js'
import { invalidRequest } from '../errors.js'
import { decodeCursor, toPage, type Page } from './pagination.js'

export interface AuditEventView {
  id: string
  at: Date
  actor: string
  action: string
  subjectType: string
  subjectId: string | null
  providerId: string | null
  userId: string | null
  detail: Prisma.JsonValue
}

/** The audit trail, newest first. */
export async function listAuditEvents(
  db: DbClient,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<AuditEventView>> {
  let before: bigint | undefined
  if (cursor) {
    const [id] = decodeCursor(cursor, 1) as [string]
    if (!/^\d{1,19}$/.test(id)) throw invalidRequest('invalid cursor')
    before = BigInt(id)
  }
  const rows = await db.auditEvent.findMany({
    where: before === undefined ? {} : { id: { lt: before } },
    orderBy: { id: 'desc' },
    take: limit + 1,
  })
  return toPage(
    rows,
    limit,
    (row) => ({ ...row, id: row.id.toString() }),
    (row) => [row.id.toString()],
  )
}
