// connection.expiring came after webhook endpoints: the migration adds it to endpoints registered for every event
// there was, and leaves the ones that chose some events alone.
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import pg from 'pg'
import t from 'tap'
import { applyMigrations, migrationsDir } from '../../src/db/migrate.js'
import { databaseUrl, migrationsBefore, serverUrl } from '../support/database.js'

const EXPIRING = readdirSync(migrationsDir).find((name) => name.endsWith('_expiring_for_all_events')) as string
const before = [
  'connection.created',
  'connection.refresh_failed',
  'connection.reauthorization_required',
  'connection.recovered',
  'connection.revoked',
]

t.test('endpoints for every event get connection.expiring; a chosen subset is kept', async (t) => {
  t.ok(EXPIRING, 'the migration exists')
  const name = `tb_migration_${process.pid}_${randomUUID().slice(0, 8)}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })
  const url = databaseUrl(name)
  await applyMigrations(url, migrationsBefore(EXPIRING))
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  t.teardown(() => db.end())
  // one endpoint per caller
  const endpoint = async (events: string[]) => {
    const caller = randomUUID()
    await db.query(`INSERT INTO api_clients (id, name, key_hash, key_prefix) VALUES ($1, $2, $3, 'tbk_000000')`, [
      caller,
      `caller-${caller.slice(0, 8)}`,
      Buffer.from(caller),
    ])
    const res = await db.query(
      `INSERT INTO webhook_endpoints (id, client_id, url, events, secret_enc, updated_at)
       VALUES ($1::uuid, $2, 'https://hooks.example.test/' || $1::text, $3, '\\x00', now()) RETURNING id`,
      [randomUUID(), caller, events],
    )
    return res.rows[0].id as string
  }
  const all = await endpoint(before)
  const some = await endpoint(['connection.revoked'])

  t.ok((await applyMigrations(url)).includes(EXPIRING), 'the migration runs')
  const events = async (id: string) =>
    (await db.query('SELECT events FROM webhook_endpoints WHERE id = $1', [id])).rows[0].events as string[]
  t.same(await events(all), [...before, 'connection.expiring'])
  t.same(await events(some), ['connection.revoked'])
})
