// Behind PgBouncer in transaction mode, the usual way to run many replicas on one Postgres: with `pgbouncer=true` in
// DATABASE_URL the broker sends no startup setting and no named prepared statement, so token reads, refreshes by two
// instances at once, flows' stores and the admin API work with every server connection shared between clients.
import { existsSync } from 'node:fs'
import t from 'tap'
import { openDatabase } from '../../src/db/client.js'
import { build } from '../helper.js'
import { createTestDatabase } from '../support/database.js'
import { createCaller } from '../support/fixtures.js'
import { PGBOUNCER, startPgbouncer } from '../support/pgbouncer.js'
import { expireConnections, mintUsers, startIdp, storedRefreshTokens } from '../support/token-fixture.js'

// .ci/run installs it; elsewhere: apt-get install pgbouncer (or set PGBOUNCER_BIN)
if (!existsSync(PGBOUNCER)) t.plan(0, `${PGBOUNCER} is not installed`)
else await poolerTests()

async function poolerTests() {
  const pooler = await startPgbouncer({ poolSize: 3 })
  t.teardown(() => pooler.close())
  const created = await createTestDatabase()
  t.teardown(() => created.drop())

  function throughPooler(query = '?pgbouncer=true') {
    const database = openDatabase({ url: pooler.url(created.name) + query, poolSize: 8 })
    return { ...database, name: created.name, url: created.url, drop: () => database.close() }
  }

  t.test('without saying so, the pooler refuses the startup setting the driver sends', async (t) => {
    const direct = throughPooler('')
    t.teardown(() => direct.close())
    await t.rejects(direct.sql.rows({ text: 'SELECT 1', values: [] }), /unsupported startup parameter/)
  })

  t.test(
    'with pgbouncer=true: reads, two refreshing instances, stores and admin lists, without an error',
    async (t) => {
      const dbA = throughPooler()
      const dbB = throughPooler()
      t.equal(dbA.pooled, true)
      const a = await build(t, { db: dbA, background: false, instanceId: 'a' })
      const b = await build(t, { db: dbB, background: false, instanceId: 'b' })
      const idp = await startIdp(t, a.app, { accessTokenTtl: 3600, rotateRefreshToken: true })
      const caller = await createCaller(a.app, { allowedProviders: [idp.providerId] })
      const users = Array.from({ length: 40 }, (_, i) => `u${i}`)
      const connected = await mintUsers(a.app, idp, users)

      // many concurrent cold and hot reads, on both instances: statements from many clients on three server connections
      const reads = await Promise.all(
        [...users, ...users].map((userId, i) =>
          (i % 2 ? a : b).app.inject({ url: `/tokens/${userId}?provider=${idp.providerId}`, headers: caller.headers }),
        ),
      )
      t.same(
        reads.filter((res) => res.statusCode !== 200).map((res) => res.body),
        [],
        'every read answered 200',
      )

      // both schedulers refresh everything due at the same moment: each connection exactly once
      await expireConnections(a.app)
      const before = idp.server.stats.tokenRequests.refresh_token
      const [tickA, tickB] = await Promise.all([a.app.scheduler.tick(), b.app.scheduler.tick()])
      t.equal(
        tickA.refreshed + tickB.refreshed,
        users.length,
        'every connection refreshed by one instance or the other',
      )
      t.equal(idp.server.stats.tokenRequests.refresh_token - before, users.length, 'one refresh grant each')
      t.equal(idp.server.stats.refreshTokenReuse, 0, 'no refresh token presented twice')
      const stored = await storedRefreshTokens(a.app)
      t.ok(
        connected.every((user) => stored.get(user.connectionId) && stored.get(user.connectionId) !== user.refreshToken),
        'every rotated refresh token stored',
      )

      const admin = { authorization: `Bearer ${a.config.ADMIN_TOKEN}` }
      const listed = await b.app.inject({ url: '/admin/connections?limit=500', headers: admin })
      t.equal(listed.statusCode, 200)
      t.equal(listed.json().items.length, users.length)
      const log = a.logs.text + b.logs.text
      t.notMatch(log, /prepared statement|unsupported startup parameter|"level":50/, 'no database error logged')
      t.notMatch(await pooler.log(), /prepared statement .* already exists/, 'the pooler saw no statement collision')
    },
  )
}
