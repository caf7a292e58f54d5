// A database of the version before namespaces, with callers and connections, migrated: everything lands in the
// `default` namespace, every ciphertext still opens (it binds to the row id, which does not change), and each caller
// is served the same token as before.
import { randomUUID } from 'node:crypto'
import { readdirSync } from 'node:fs'
import pg from 'pg'
import t from 'tap'
import { Keyring } from '../../src/crypto/keyring.js'
import { openDatabase } from '../../src/db/client.js'
import { applyMigrations, migrationsDir } from '../../src/db/migrate.js'
import { generateApiKey } from '../../src/services/api-keys.js'
import { accessTokenContext, refreshTokenContext } from '../../src/services/connection-tokens.js'
import { build, testKeys } from '../helper.js'
import { databaseUrl, migrationsBefore, serverUrl } from '../support/database.js'

const NAMESPACES = readdirSync(migrationsDir).find((name) => name.endsWith('_namespaces')) as string

t.test('callers and connections of the previous version are served the same tokens after the migration', async (t) => {
  t.ok(NAMESPACES, 'the namespaces migration exists')
  const name = `tb_migration_${process.pid}_${randomUUID().slice(0, 8)}`
  const admin = new pg.Client({ connectionString: serverUrl })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  t.teardown(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.end()
  })
  const url = databaseUrl(name)
  const earlier = await applyMigrations(url, migrationsBefore(NAMESPACES))
  t.ok(earlier.length >= 2 && !earlier.includes(NAMESPACES), `migrated to the previous version (${earlier.length})`)

  // rows as the previous version wrote them, in its own columns
  const keyring = new Keyring([testKeys.primary])
  const old = new pg.Client({ connectionString: url })
  await old.connect()
  await old.query(
    `INSERT INTO providers (id, client_id, authorization_endpoint, token_endpoint, updated_at)
     VALUES ('legacy', 'legacy-client', 'https://legacy.example.test/authorize', 'https://legacy.example.test/token', now())`,
  )
  const callers = [generateApiKey(), generateApiKey()]
  for (const [i, key] of callers.entries()) {
    await old.query(
      `INSERT INTO api_clients (id, name, key_hash, key_prefix, allowed_providers) VALUES ($1, $2, $3, $4, '{legacy}')`,
      [randomUUID(), `caller-${i}`, key.keyHash, key.keyPrefix],
    )
  }
  const users = ['alice', 'bob', 'carol']
  const tokens = new Map<string, { id: string; access: string; refresh: string }>()
  for (const userId of users) {
    const id = randomUUID()
    const access = `at-${userId}-${randomUUID()}`
    const refresh = `rt-${userId}-${randomUUID()}`
    await old.query(
      `INSERT INTO connections (id, provider_id, user_id, access_token_enc, refresh_token_enc, token_type, scope,
         expires_at, lifetime_seconds, updated_at)
       VALUES ($1, 'legacy', $2, $3, $4, 'Bearer', 'read', now() + interval '1 hour', 3600, now())`,
      [id, userId, keyring.encrypt(access, accessTokenContext(id)), keyring.encrypt(refresh, refreshTokenContext(id))],
    )
    tokens.set(userId, { id, access, refresh })
  }
  await old.end()

  const applied = await applyMigrations(url)
  t.equal(applied[0], NAMESPACES, 'the namespaces migration applies to it, then the later ones')
  const database = openDatabase({ url })
  const db = { ...database, name, url, drop: () => database.close() }
  const { app } = await build(t, { db, background: false })
  t.teardown(() => database.close())

  const rows = await database.prisma.connection.findMany({ orderBy: { userId: 'asc' } })
  t.same(
    rows.map((row) => [row.namespace, row.userId, row.id]),
    users.map((userId) => ['default', userId, tokens.get(userId)?.id]),
    'every connection is in default, with its id',
  )
  for (const row of rows) {
    const known = tokens.get(row.userId)
    t.equal(keyring.decrypt(row.refreshTokenEnc as Uint8Array, refreshTokenContext(row.id)), known?.refresh)
  }
  const namespaces = await database.prisma.apiClient.findMany({ select: { namespace: true } })
  t.same(
    namespaces.map((row) => row.namespace),
    ['default', 'default'],
    'every caller is in default',
  )

  for (const key of callers) {
    for (const userId of users) {
      const res = await app.inject({
        url: `/tokens/${userId}?provider=legacy`,
        headers: { authorization: `Bearer ${key.apiKey}` },
      })
      t.equal(res.statusCode, 200, `${key.keyPrefix} reads ${userId}`)
      t.equal(res.json().accessToken, tokens.get(userId)?.access, 'the same token as before')
    }
  }
})
