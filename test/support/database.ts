import { createHash, randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { openDatabase, type Database } from '../../src/db/client.js'
import { applyMigrations, migrationsDir } from '../../src/db/migrate.js'

// Every test file gets a database of its own, copied from a template that was migrated once.
export const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

export function databaseUrl(name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.href
}

function migrationsFingerprint(): string {
  const hash = createHash('sha256')
  for (const dir of readdirSync(migrationsDir).sort()) {
    if (dir.endsWith('.toml')) continue
    hash.update(dir).update(readFileSync(join(migrationsDir, dir, 'migration.sql')))
  }
  return hash.digest('hex').slice(0, 12)
}

/** A copy of the committed migrations up to, not including, `last`: a database of the version before it. */
export function migrationsBefore(last: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tb-migrations-'))
  for (const entry of readdirSync(migrationsDir)) {
    if (entry.endsWith('.toml') || entry < last)
      cpSync(join(migrationsDir, entry), join(dir, entry), { recursive: true })
  }
  return dir
}

export const templateName = `tb_template_${migrationsFingerprint()}`

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/** Creates the migrated template once per set of migrations; safe when several processes race. */
export async function ensureTemplate(): Promise<void> {
  await withAdmin(async (admin) => {
    await admin.query(`SELECT pg_advisory_lock(hashtext('token-broker-test-template'))`)
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [templateName])
      if (rowCount) return
      const building = `${templateName}_building`
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`)
      await admin.query(`CREATE DATABASE ${building}`)
      await applyMigrations(databaseUrl(building))
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${templateName}`)
    } finally {
      await admin.query(`SELECT pg_advisory_unlock(hashtext('token-broker-test-template'))`)
    }
  })
}

export interface TestDatabase extends Database {
  name: string
  url: string
  drop(): Promise<void>
}

/** A fresh, migrated database (named `<prefix>_…`: the bench makes its own with `tb_bench`); dropped by `drop()`. */
export async function createTestDatabase(
  prefix = 'tb_test',
): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  await ensureTemplate()
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`
  await withAdmin(async (admin) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`)
        return
      } catch (err) {
        // two copies of one template at the same instant: Postgres refuses the second; try again
        if (attempt >= 20 || !/being accessed by other users/.test((err as Error).message)) throw err
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
      }
    }
  })
  return {
    name,
    url: databaseUrl(name),
    drop: () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  }
}

export async function openTestDatabase(): Promise<TestDatabase> {
  const created = await createTestDatabase()
  const database = openDatabase({ url: created.url, poolSize: 10 })
  return {
    ...database,
    name: created.name,
    url: created.url,
    async close() {
      await database.close()
    },
    async drop() {
      await database.close()
      await created.drop()
    },
  }
}
