// While the database is unreachable (a TCP proxy in front of Postgres is cut), tokens and API keys read from it in the
// minute before are still served, for a bounded time and only as the normal path would serve them: the token must
// satisfy minTtl, the caller must be allowed the provider and own the namespace, and a key seen revoked stays refused.
import t from 'tap'
import { openDatabase } from '../../src/db/client.js'
import { adminHeaders, createCaller, type TestCaller } from '../support/fixtures.js'
import { build } from '../helper.js'
import { createTestDatabase, type TestDatabase } from '../support/database.js'
import { mintUsers, startIdp } from '../support/token-fixture.js'
import { startDatabaseProxy } from './support/database-proxy.js'

const GRACE_SECONDS = 120
const created = await createTestDatabase()
const proxy = await startDatabaseProxy(created.url)
const database = openDatabase({ url: proxy.url, poolSize: 4 })
t.teardown(async () => {
  await proxy.close()
  await database.close()
  await created.drop()
})
const db: TestDatabase = { ...database, name: created.name, url: proxy.url, drop: async () => {} }
// the clock moves past the token and key caches (3 s and 2 s) instead of waiting for them
let offsetMs = 0
const now = () => new Date(Date.now() + offsetMs)
const { app } = await build(t, {
  db,
  background: false,
  now,
  config: { DB_OUTAGE_GRACE_SECONDS: GRACE_SECONDS },
  timing: { providerTimeoutSeconds: 2 },
})
const idp = await startIdp(t, app, { accessTokenTtl: 3600 })
const allowed = { allowedProviders: [idp.providerId] }
const reader = await createCaller(app, allowed)
const elsewhere = await createCaller(app, { ...allowed, namespace: 'elsewhere' })
const notAllowed = await createCaller(app)
await mintUsers(app, idp, ['read-1', 'read-2', 'read-3', 'never-read', 'deleted'])
// 200 s of its hour left
await mintUsers(app, idp, ['short-lived'], { now: new Date(now().getTime() - 3400_000) })

const read = (caller: { headers: { authorization: string } }, userId: string, query = '') =>
  app.inject({ method: 'GET', url: `/tokens/${userId}?provider=${idp.providerId}${query}`, headers: caller.headers })
const admin = (method: 'POST' | 'DELETE', url: string, payload?: object) =>
  app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) })
const servedDuringOutage = async (what: string) =>
  (await app.deps.metrics.servedDuringOutage.get()).values.find((v) => v.labels.what === what)?.value ?? 0
const unavailable = { error: 'service_unavailable', message: 'the database is unavailable; try again shortly' }

async function expectStatus(
  caller: TestCaller | { headers: { authorization: string } },
  userId: string,
  status: number,
) {
  const res = await read(caller, userId)
  if (res.statusCode !== status) throw new Error(`${userId}: ${res.statusCode} ${res.body}, expected ${status}`)
  return res
}

async function untilServed(userId: string): Promise<boolean> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    if ((await read(reader, userId)).statusCode === 200) return true
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return false
}

t.test('during an outage, what was read in the minute before is served; nothing else is', async (t) => {
  const before = new Map<string, unknown>()
  for (const userId of ['read-1', 'read-2', 'read-3', 'short-lived', 'deleted']) {
    before.set(userId, (await expectStatus(reader, userId, 200)).json())
  }
  await expectStatus(elsewhere, 'read-1', 404)
  await expectStatus(notAllowed, 'read-1', 403)

  const revokedHere = await createCaller(app, allowed)
  await expectStatus(revokedHere, 'read-1', 200)
  t.equal((await admin('DELETE', `/admin/clients/${revokedHere.id}`)).statusCode, 204)
  const revokedElsewhere = await createCaller(app, allowed)
  await expectStatus(revokedElsewhere, 'read-1', 200)
  // as another instance revokes it: this one sees it once its cached lookup expires
  await app.deps.db.prisma.apiClient.update({ where: { id: revokedElsewhere.id }, data: { revokedAt: now() } })
  offsetMs += 3_000
  await expectStatus(revokedElsewhere, 'read-1', 401)
  const rotating = await createCaller(app, allowed)
  const rotated = await admin('POST', `/admin/clients/${rotating.id}/rotate-key`, { graceSeconds: 20 })
  t.equal(rotated.statusCode, 200)
  await expectStatus(rotating, 'read-1', 200)
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/connections/${idp.providerId}/deleted`, headers: reader.headers }))
      .statusCode,
    204,
  )

  await proxy.cut()
  t.teardown(() => proxy.restore())
  offsetMs += 10_000
  for (const userId of ['read-1', 'read-2', 'read-3', 'short-lived']) {
    t.same((await expectStatus(reader, userId, 200)).json(), before.get(userId), `${userId} served as before`)
  }
  t.equal(await servedDuringOutage('token'), 4)
  t.ok((await servedDuringOutage('api_key')) >= 1, 'the key was accepted from before the outage')

  const refused = [
    ['short-lived', '&minTtl=300', 503, 'a token with less than minTtl left'],
    ['read-1', '&requiredScopes=calendar.write', 409, 'a token without the required scope'],
    ['never-read', '', 503, 'a connection not read before'],
    ['deleted', '', 503, 'a connection deleted before'],
  ] as const
  for (const [userId, query, status, what] of refused) {
    t.equal((await read(reader, userId, query)).statusCode, status, what)
  }
  t.same((await read(reader, 'never-read')).json(), unavailable)
  t.equal((await read(elsewhere, 'read-1')).statusCode, 503, "another namespace's connection is not served")
  t.equal((await read(notAllowed, 'read-1')).statusCode, 403, 'a provider the caller is not allowed')
  t.equal((await read(revokedHere, 'read-1')).statusCode, 401, 'a key revoked here before the outage')
  t.equal((await read(revokedElsewhere, 'read-1')).statusCode, 401, 'a key seen revoked before the outage')
  t.equal((await read({ headers: { authorization: `Bearer ${rotated.json().apiKey}` } }, 'read-1')).statusCode, 503)
  t.equal((await read(rotating, 'read-1')).statusCode, 200, 'a rotated key within its grace')
  offsetMs += 15_000
  t.equal((await read(rotating, 'read-1')).statusCode, 401, "a rotated key after its grace's end")
  t.equal((await read(reader, 'read-1')).statusCode, 200)

  offsetMs += GRACE_SECONDS * 1000
  t.same((await read(reader, 'read-1')).json(), unavailable, 'not longer than the outage grace')

  await proxy.restore()
  t.ok(await untilServed('read-1'), 'served from the database once it is back')
  const fresh = await read(reader, 'short-lived', '&minTtl=300')
  t.equal(fresh.statusCode, 200, 'the normal path refreshes again')
  t.not(fresh.json().accessToken, (before.get('short-lived') as { accessToken: string }).accessToken)
})

t.test('a token read more than a minute before the outage is not served during it', async (t) => {
  await expectStatus(reader, 'read-2', 200)
  offsetMs += 61_000
  await expectStatus(reader, 'read-1', 200)
  await proxy.cut()
  t.teardown(() => proxy.restore())
  offsetMs += 5_000
  t.equal((await read(reader, 'read-1')).statusCode, 200)
  t.equal((await read(reader, 'read-2')).statusCode, 503)
  await proxy.restore()
  t.ok(await untilServed('read-2'))
})
