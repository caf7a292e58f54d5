import type { DbClient } from '../db/client.js'
import type { Prisma } from '../db/generated/client.js'

/** Who acted: the admin, an internal caller, the user's browser, or the broker itself (scheduler). */
export type Actor = 'admin' | 'system' | 'user' | `client:${string}`

export interface AuditEntry {
  actor: Actor
  action: string
  subjectType: 'connection' | 'provider' | 'client' | 'webhook' | 'keyring'
  subjectId?: string
  providerId?: string
  userId?: string
  /** Never a secret: identifiers, counts, error codes. */
  detail?: Prisma.InputJsonValue
}

/** Appends to the audit trail; pass the transaction of the change it records. */
export async function recordAudit(db: DbClient, entry: AuditEntry): Promise<void> {
  await db.auditEvent.create({ data: entry })
}
