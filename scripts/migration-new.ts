// Writes prisma/migrations/<timestamp>_<name>/migration.sql: the SQL that takes the committed schema
// (prisma/schema.prisma at HEAD) to the one in the work tree. The engine needs a database to talk to: it gets
// a scratch one on DATABASE_URL's server.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'
import { migrationsDir, openSchemaEngine } from '../src/db/migrate.js'

const name = process.argv[2]
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error('usage: npm run db:migration -- <snake_case_name>')
  process.exit(2)
}
const committed = execFileSync('git', ['show', 'HEAD:prisma/schema.prisma'], { encoding: 'utf8' })
const current = readFileSync(new URL('../prisma/schema.prisma', import.meta.url), 'utf8')
const server = new URL(process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres')
const scratch = `tb_migration_${process.pid}`
const admin = new pg.Client({ connectionString: server.href })
await admin.connect()
await admin.query(`CREATE DATABASE ${scratch}`)
const url = new URL(server.href)
url.pathname = `/${scratch}`
const chunks: string[] = []
const { engine } = await openSchemaEngine(url.href)
const write = process.stdout.write.bind(process.stdout)
try {
  // the engine prints the script to stdout
  process.stdout.write = ((chunk: string) => chunks.push(String(chunk)) > 0) as typeof process.stdout.write
  await engine.migrateDiff({
    from: { tag: 'schemaDatamodel', files: [{ path: 'prisma/schema.prisma', content: committed }] },
    to: { tag: 'schemaDatamodel', files: [{ path: 'prisma/schema.prisma', content: current }] },
    script: true,
    exitCode: null,
    filters: { externalTables: [], externalEnums: [] },
  })
} finally {
  process.stdout.write = write
  await engine.stop()
  await admin.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`)
  await admin.end()
}
const sql = chunks.join('')
if (!sql.trim() || /empty migration/i.test(sql)) {
  console.log('prisma/schema.prisma is unchanged since HEAD: nothing to write')
} else {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14)
  const dir = join(migrationsDir, `${stamp}_${name}`)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'migration.sql'), sql)
  console.log(`wrote ${dir}/migration.sql`)
}
process.exit(0)
