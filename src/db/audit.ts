// The audit trail: appended in the transaction of the change it records, read by the admin newest first.
import type { Db } from './client.js'
import type { auditSubjectTypes } from '../schemas/audit.js'
import type { AuditEvent, Prisma } from './generated/client.js'

/** Who acted: the admin, an internal caller, the user's browser, or the broker itself (scheduler). */
export type Actor = 'admin' | 'system' | 'user' | `client:${string}`

export interface AuditEntry {
  actor: Actor
  action: string
  subjectType: (typeof auditSubjectTypes)[number]
  subjectId?: string
  namespace?: string
  providerId?: string
  userId?: string
  /** Never a secret: identifiers, counts, error codes. */
  detail?: Prisma.InputJsonValue
}

/** Appends to the audit trail; pass the transaction of the change it records. */
export async function recordAudit(db: Db, entry: AuditEntry): Promise<void> {
  await db.prisma.auditEvent.create({ data: entry })
}

/** Up to `limit` events older than `before` (an event id), newest first. */
export function listAuditEvents(db: Db, { limit, before }: { limit: number; before?: bigint }): Promise<AuditEvent[]> {
  return db.prisma.auditEvent.findMany({
    where: before === undefined ? {} : { id: { lt: before } },
    orderBy: { id: 'desc' },
    take: limit,
  })
}
