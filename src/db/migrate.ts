import { PrismaPg } from '@prisma/adapter-pg'
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils'
import prismaMigrate, { type SchemaEngine } from '@prisma/migrate'
import pg from 'pg'
import { migrationsDir } from './migrations.js'

export { migrationsDir }

// a CommonJS bundle whose named exports Node cannot detect statically
const { Migrate, SchemaEngineWasm } = prismaMigrate

/**
 * Prisma's WebAssembly schema engine: the same migrations and `_prisma_migrations` table as
 * `prisma migrate deploy`, without the native engine binary.
 */
export async function openSchemaEngine(connectionString: string, migrationsDirPath = migrationsDir) {
  const pool = new pg.Pool({ connectionString, max: 2 })
  const clients = new Set<pg.PoolClient>()
  pool.on('connect', (client) => clients.add(client))
  const wasm = await SchemaEngineWasm.setup({ adapter: bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool)) })
  const engine: SchemaEngine = {
    migrateDiff: (input) => wasm.migrateDiff(input),
    stop: async () => {
      await wasm.stop()
      // the engine keeps a client checked out; end every client so nothing holds the process open
      await Promise.all([...clients].map((client) => client.end().catch(() => {})))
      await pool.end()
    },
  }
  return { migrate: new Migrate({ engine: wasm, migrationsDirPath }), engine }
}

/**
 * Applies every committed migration not yet applied; a no-op when the database is current. `migrationsDirPath`
 * names another folder in Prisma's layout (tests migrate a database to an earlier state with it).
 */
export async function applyMigrations(connectionString: string, migrationsDirPath = migrationsDir): Promise<string[]> {
  const { migrate, engine } = await openSchemaEngine(connectionString, migrationsDirPath)
  try {
    return (await migrate.applyMigrations()).appliedMigrationNames
  } finally {
    await engine.stop()
  }
}
