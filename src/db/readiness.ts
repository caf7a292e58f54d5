import type { Db } from './client.js'
import { pendingMigrations } from './migrations.js'

/** Whether the database answers and every committed migration has been applied to it. */
export async function checkReadiness(db: Pick<Db, 'sql'>): Promise<{ ready: boolean; reason?: string }> {
  let pending: string[]
  try {
    pending = await pendingMigrations(db)
  } catch {
    return { ready: false, reason: 'database unreachable or not migrated' }
  }
  return pending.length === 0 ? { ready: true } : { ready: false, reason: `${pending.length} migration(s) pending` }
}
