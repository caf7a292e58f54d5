// Applies the migrations in a process of its own (see migrate() in migrations.ts) and reports to its parent.
import { applyMigrations } from './migrate.js'

const send = (message: { applied?: string[]; error?: string }) =>
  new Promise<void>((resolve) => (process.send ? process.send(message, () => resolve()) : resolve()))

try {
  await send({ applied: await applyMigrations(process.env.MIGRATE_DATABASE_URL as string) })
} catch (err) {
  await send({ error: err instanceof Error ? err.message : String(err) })
}
// the schema engine leaves a timer behind
process.exit(0)
