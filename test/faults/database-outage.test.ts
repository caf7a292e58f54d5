// The database goes away (a TCP proxy in front of Postgres is cut) and comes back: requests get a quick 503 with
// the usual error shape, and a refresh whose answer arrived during the outage is stored once the database is back,
// so a rotated refresh token is not lost.
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { openDatabase } from '../../src/db/client.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { expireConnections, mintUsers, signIn, startIdp, storedRefreshToken } from '../support/token-fixture.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'
import { startDatabaseProxy } from './support/database-proxy.js'

const created = await createTestDatabase()
const proxy = await startDatabaseProxy(created.url)
const database = openDatabase({ url: proxy.url, poolSize: 4 })
t.teardown(async () => {
  await proxy.close()
  await database.close()
  await created.drop()
})
const db: TestDatabase = { ...database, name: created.name, url: proxy.url, drop: async () => {} }
// provider timeout 2 s: GET /tokens waits at most 7 s for a refresh
const { app } = await build(t, { db, background: false, timing: { providerTimeoutSeconds: 2 } })
const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
const [alice] = await mintUsers(app, idp, ['alice'])
const tokenRequest = () =>
  app.inject({ method: 'GET', url: `/tokens/alice?provider=${idp.providerId}`, headers: caller.headers })

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) return false
    await sleep(100)
  }
  return true
}

t.test('while the database is unreachable every route answers 503 service_unavailable, quickly', async (t) => {
  // the caller's key is now cached: the next read reaches the connection read itself
  t.equal((await tokenRequest()).statusCode, 200)
  await proxy.cut()
  t.teardown(() => proxy.restore())
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
  for (const request of [
    // the first finds its pooled connection dead, the second is refused a new one
    { method: 'GET', url: `/tokens/nobody?provider=${idp.providerId}`, headers: caller.headers },
    { method: 'GET', url: `/tokens/nobody-else?provider=${idp.providerId}`, headers: caller.headers },
    { method: 'POST', url: '/authorizations', headers: caller.headers, payload: { provider: 'idp', userId: 'u' } },
    { method: 'GET', url: '/admin/connections', headers: admin },
    { method: 'POST', url: '/admin/clients', headers: admin, payload: { name: 'x' } },
  ] as const) {
    const started = Date.now()
    const res = await app.inject(request)
    const elapsed = Date.now() - started
    t.equal(res.statusCode, 503, `${request.method} ${request.url}`)
    t.same(res.json(), { error: 'service_unavailable', message: 'the database is unavailable; try again shortly' })
    t.equal(res.headers['retry-after'], '1')
    // the pool gives up on a connection after 3 s; a refused one fails at once
    t.ok(elapsed < 10_000, `answered in ${elapsed} ms`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503)

  await proxy.restore()
  t.ok(await until(async () => (await tokenRequest()).statusCode === 200, 10_000), 'served again once it is back')
})

t.test('a refresh answered while the database is down is stored once it is back', async (t) => {
  if (!alice) throw new Error('no connection')
  await expireConnections(app, [alice.connectionId])
  app.services.tokenCache.forget({ namespace: 'default', providerId: idp.providerId, userId: 'alice' })
  const before = await storedRefreshToken(app, alice.connectionId)
  t.equal(before, alice.refreshToken)

  // the provider takes 1.5 s to answer; the database goes away while it does
  idp.server.setTokenFault({ kind: 'hang', ms: 1500, grantType: 'refresh_token', times: 1 })
  const arrived = idp.server.stats.tokenRequests.refresh_token
  const pending = tokenRequest()
  t.ok(await until(async () => idp.server.stats.tokenRequests.refresh_token > arrived, 10_000), 'refresh sent')
  await proxy.cut()
  const during = await pending
  t.equal(during.statusCode, 503, 'the caller is not kept waiting for the database')
  t.equal((await idp.server.introspect(alice.refreshToken)).active, false, 'the provider rotated the token')

  await sleep(1000)
  await proxy.restore()
  const stored = await until(async () => (await storedRefreshToken(app, alice.connectionId)) !== before, 30_000)
  t.ok(stored, 'the rotated refresh token was stored after the outage')
  const now = await storedRefreshToken(app, alice.connectionId)
  t.equal((await idp.server.introspect(now as string)).active, true, 'and it is the one the provider knows')
  const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: alice.connectionId } })
  t.match(row, { status: 'active', failureCount: 0, leaseOwner: null })
  t.equal((await tokenRequest()).statusCode, 200)
})

t.test('an import refreshed while the database goes away is stored once it is back', async (t) => {
  const issued = await signIn(idp, 'bob')
  // the provider takes 1.5 s to answer the import's refresh; the database goes away while it does
  idp.server.setTokenFault({ kind: 'hang', ms: 1500, grantType: 'refresh_token', times: 1 })
  const arrived = idp.server.stats.tokenRequests.refresh_token
  const pending = app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: { provider: idp.providerId, userId: 'bob', refreshToken: issued.refresh_token },
  })
  t.ok(await until(async () => idp.server.stats.tokenRequests.refresh_token > arrived, 10_000), 'refresh sent')
  await proxy.cut()
  // the provider answers meanwhile, rotating the imported token
  await sleep(2500)
  await proxy.restore()
  const res = await pending
  t.equal(res.statusCode, 201, 'imported once the database is back')
  t.equal((await idp.server.introspect(issued.refresh_token as string)).active, false, 'the provider rotated it')
  const stored = await storedRefreshToken(app, (res.json() as { id: string }).id)
  t.not(stored, issued.refresh_token)
  t.equal((await idp.server.introspect(stored as string)).active, true, 'the stored one is the one the provider knows')
})
