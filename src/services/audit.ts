import { listAuditEvents } from '../db/audit.js'
import { bigintCursor, limitOf, toPage, type Page, type PageRequest } from '../db/pagination.js'
import type { Deps } from '../deps.js'
import type { auditSubjectTypes, AuditEventView } from '../schemas/audit.js'

/** The audit trail for the admin, newest first. */
export function createAuditService(deps: Pick<Deps, 'db'>) {
  return {
    async list(page: PageRequest): Promise<Page<AuditEventView>> {
      const before = page.cursor === undefined ? undefined : bigintCursor.decode(page.cursor)
      const rows = await listAuditEvents(deps.db, {
        limit: limitOf(page) + 1,
        ...(before === undefined ? {} : { before }),
      })
      return toPage(
        rows,
        limitOf(page),
        (row) => ({
          ...row,
          id: row.id.toString(),
          subjectType: row.subjectType as (typeof auditSubjectTypes)[number],
          detail: row.detail as AuditEventView['detail'],
        }),
        bigintCursor.keyOf,
      )
    },
  }
}
