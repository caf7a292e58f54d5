import { readdirSync } from 'node:fs'
import { migrationsDir } from './migrate.js'
import type { Db } from './client.js'

const committedMigrations = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)

/** Whether the database answers and every committed migration has been applied to it. */
export async function checkReadiness(db: Db): Promise<{ ready: boolean; reason?: string }> {
  let applied: { migration_name: string }[]
  try {
    applied = await db.prisma.$queryRaw<{ migration_name: string }[]>`
      SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`
  } catch {
    return { ready: false, reason: 'database unreachable or not migrated' }
  }
  const names = new Set(applied.map((row) => row.migration_name))
  const pending = committedMigrations.filter((name) => !names.has(name))
  return pending.length === 0 ? { ready: true } : { ready: false, reason: `${pending.length} migration(s) pending` }
}
