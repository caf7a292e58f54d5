// The embedded default (no DATABASE_URL): PGlite in a directory, reached through the same driver and migrations.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cipherContext, Keyring } from '../../src/crypto/keyring.js'
import { openDatabase, type Database } from '../../src/db/client.js'
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded.js'
import { applyMigrations, migrationsDir } from '../../src/db/migrate.js'
import { checkReadiness } from '../../src/db/readiness.js'
import { testKeys } from '../helper.js'

const ring = new Keyring([testKeys.primary])
const dataDir = mkdtempSync(join(tmpdir(), 'tb-embedded-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

async function open(t: Test): Promise<{ embedded: EmbeddedDatabase; database: Database }> {
  const embedded = await startEmbeddedDatabase(dataDir)
  const database = openDatabase({ url: embedded.url, poolSize: embedded.poolSize })
  t.teardown(async () => {
    await database.close()
    await embedded.close()
  })
  return { embedded, database }
}

const connectionId = randomUUID()
const refreshContext = cipherContext('connections', connectionId, 'refresh_token')

t.test('migrations apply once, then the database is ready and keeps an encrypted connection', async (t) => {
  const { embedded, database } = await open(t)
  const { prisma } = database
  const committed = readdirSync(migrationsDir, { withFileTypes: true }).filter((entry) => entry.isDirectory())
  t.same(
    await checkReadiness(database),
    { ready: false, reason: `${committed.length} migration(s) pending` },
    'a database never migrated lacks every migration',
  )
  t.same(await applyMigrations(embedded.url), committed.map((entry) => entry.name).sort(), 'every migration applies')
  t.same(await applyMigrations(embedded.url), [], 'applying again is a no-op')
  t.same(await checkReadiness(database), { ready: true })

  await prisma.provider.create({ data: { id: 'acme', clientId: 'acme-client' } })
  await prisma.connection.create({
    data: {
      id: connectionId,
      providerId: 'acme',
      userId: 'user-1',
      accessTokenEnc: ring.encrypt('access-1', cipherContext('connections', connectionId, 'access_token')),
      refreshTokenEnc: ring.encrypt('refresh-1', refreshContext),
    },
  })
  const row = await prisma.connection.findUniqueOrThrow({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: 'acme', userId: 'user-1' } },
  })
  t.equal(ring.decrypt(row.refreshTokenEnc as Uint8Array, refreshContext), 'refresh-1')
})

const BURST = 18
t.test('concurrent queries, failures and transactions each get their own answer', async (t) => {
  const { database } = await open(t)
  const { prisma } = database
  // a pool that has served a query already, as a running service's has
  t.same(await checkReadiness(database), { ready: true })
  const outcomes = await Promise.allSettled(
    Array.from({ length: BURST }, (_, i) => {
      if (i % 3 === 0) return prisma.$queryRaw`SELECT 1 / ${0}::int AS never`
      if (i % 3 === 1) return prisma.$queryRaw<{ n: number }[]>`SELECT ${i}::int AS n`.then((rows) => rows[0]?.n)
      return prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`UPDATE connections SET failure_count = failure_count + 1 WHERE id = ${connectionId}::uuid`
          return (await tx.$queryRaw<{ n: number }[]>`SELECT ${i}::int AS n`)[0]?.n
        },
        // this is about answers, not latency: on a busy machine a transaction may wait long for its turn
        { maxWait: 30_000 },
      )
    }),
  )
  outcomes.forEach((outcome, i) => {
    if (i % 3 === 0) t.match(outcome, { status: 'rejected', reason: /division by zero/ }, `query ${i} fails alone`)
    else t.same(outcome, { status: 'fulfilled', value: i }, `query ${i} gets its own answer`)
  })
  const row = await prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
  t.equal(row.failureCount, BURST / 3, 'every transaction committed')
})

t.test('after a restart on the same directory the data is still there', async (t) => {
  const { database } = await open(t)
  t.same(await checkReadiness(database), { ready: true })
  const row = await database.prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
  t.equal(ring.decrypt(row.refreshTokenEnc as Uint8Array, refreshContext), 'refresh-1')
})
