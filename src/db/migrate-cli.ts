// `npm run db:migrate`: applies the committed migrations to DATABASE_URL (or the embedded database).
import { loadConfig } from '../config.js'
import { startEmbeddedDatabase } from './embedded.js'
import { applyMigrations } from './migrate.js'

const { config } = loadConfig()
const embedded = config.DATABASE_URL ? undefined : await startEmbeddedDatabase(config.DATA_DIR)
try {
  const applied = await applyMigrations(config.DATABASE_URL?.href ?? (embedded as { url: string }).url)
  console.warn(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date')
} finally {
  await embedded?.close()
}
// the schema engine leaves a timer behind; nothing else is running
process.exit(0)
