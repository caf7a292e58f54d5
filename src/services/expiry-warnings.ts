// connection.expiring: a provider bounds how long a refresh token lives (Xero 60 days, Microsoft 90 days idle, a
// Google app in testing 7 days); EXPIRY_WARNING_SECONDS before that, the connection's callers are told once, so a
// backend can ask its user to reconnect before the connection dies. A new grant (a reconnect) may be warned of again.
import { recordAudit } from '../db/audit.js'
import { anyExpiringConnection, markExpiringConnections } from '../db/connections/index.js'
import type { Deps } from '../deps.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'

const BATCH = 200

export function createExpiryWarnings(deps: Pick<Deps, 'db' | 'config' | 'now'>) {
  const { db } = deps

  /** Warns of every refresh token expiring within the window and not warned of yet; how many were warned of. */
  async function warnExpiring(): Promise<number> {
    const windowSeconds = deps.config.EXPIRY_WARNING_SECONDS
    if (windowSeconds === 0) return 0
    let warned = 0
    for (;;) {
      const now = deps.now()
      const until = new Date(now.getTime() + windowSeconds * 1000)
      // every tick asks; almost always nothing is expiring, and the answer needs no transaction
      if (!(await anyExpiringConnection(db, { now, until }))) return warned
      const count = await db.transaction(async (tx) => {
        const rows = await markExpiringConnections(tx, { now, until, limit: BATCH })
        for (const row of rows) {
          const expiresAt = row.refreshTokenExpiresAt.toISOString()
          const key = { namespace: row.namespace, providerId: row.providerId, userId: row.userId }
          await emitConnectionEvent(
            tx,
            { type: 'connection.expiring', connectionId: row.id, ...key, status: row.status, detail: { expiresAt } },
            now,
          )
          await recordAudit(tx, {
            actor: 'system',
            action: 'connection.expiring',
            subjectType: 'connection',
            subjectId: row.id,
            ...key,
            detail: { expiresAt },
          })
        }
        return rows.length
      })
      warned += count
      if (count < BATCH) return warned
    }
  }

  return { warnExpiring }
}

export type ExpiryWarnings = ReturnType<typeof createExpiryWarnings>
