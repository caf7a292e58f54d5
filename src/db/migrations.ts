// The committed migrations, and which of them a database lacks: read with one statement on the driver, so a start
// on a current database (the usual case) never loads the schema engine.
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Db } from './client.js'

export const migrationsDir = fileURLToPath(new URL('../../prisma/migrations', import.meta.url))

const committed = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

const applied = {
  text: `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  values: [],
}

/** The committed migrations not applied to the database; all of them when it has never been migrated. */
export async function pendingMigrations(db: Pick<Db, 'sql'>): Promise<string[]> {
  let rows: { migration_name: string }[]
  try {
    rows = await db.sql.rows<{ migration_name: string }>(applied)
  } catch (err) {
    // undefined_table: a database no migration has touched yet
    if ((err as { code?: unknown }).code === '42P01') return committed
    throw err
  }
  const names = new Set(rows.map((row) => row.migration_name))
  return committed.filter((name) => !names.has(name))
}

/**
 * Brings the database to the committed schema: nothing is loaded when it is current; otherwise the schema engine
 * applies what is pending in a process of its own, whose WebAssembly memory (tens of MiB) ends with it instead of
 * staying in the service for its whole life. Answers the migrations applied.
 */
export async function migrate(db: Pick<Db, 'sql'>, url: string): Promise<string[]> {
  if ((await pendingMigrations(db)).length === 0) return []
  const { fork } = await import('node:child_process')
  // the entry beside this module: .js once built, .ts when run from source (with the same loader flags)
  const entry = fileURLToPath(
    new URL(`./migrate-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url),
  )
  const child = fork(entry, [], { env: { ...process.env, MIGRATE_DATABASE_URL: url }, stdio: 'inherit' })
  return new Promise((resolve, reject) => {
    child.once('message', (answer: { applied?: string[]; error?: string }) =>
      answer.applied ? resolve(answer.applied) : reject(new Error(`migrations failed: ${answer.error}`)),
    )
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`the migration process exited with code ${code}`)))
  })
}
