import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { connectUsers, expireConnections, startIdp } from '../support/token-fixture.js'
import { createCaller, createProvider } from '../support/fixtures.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('DELETE /connections revokes at the provider, then holds nothing for the user', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])
  await app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers }) // cached now

  const res = await app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })
  t.equal(res.statusCode, 204)
  t.equal(res.body, '')
  t.equal(idp.server.stats.revocations, 2, 'refresh token, then access token')
  t.same(idp.server.stats.revokedTokens, [alice?.refreshToken, alice?.accessToken])
  t.same(await idp.server.introspect(alice!.refreshToken), { active: false })
  t.same(await idp.server.introspect(alice!.accessToken), { active: false })

  const { prisma } = app.deps.db
  t.equal(await prisma.connection.count({ where: { userId: 'alice' } }), 0, 'nothing stored')
  const audit = await prisma.auditEvent.findFirstOrThrow({ where: { action: 'connection.revoked' } })
  t.equal(audit.actor, `client:${caller.id}`)
  t.same(audit.detail, { revocation: 'revoked' })
  const after = await app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers })
  t.equal(after.statusCode, 404, 'not served from the cache either')

  const again = await app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })
  t.equal(again.statusCode, 404)
})

t.test('DELETE /connections: 401 without a key, 403 for a provider not allowed', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  await createProvider(app, { id: 'someone-else' })
  const caller = await createCaller(app, { allowedProviders: ['someone-else'] })
  await connectUsers(app, idp, ['alice'])
  t.equal((await app.inject({ method: 'DELETE', url: '/connections/idp/alice' })).statusCode, 401)
  const forbidden = await app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })
  t.equal(forbidden.statusCode, 403)
  t.equal(await app.deps.db.prisma.connection.count(), 1)
  t.equal(idp.server.stats.revocations, 0)
})

t.test('a failed revocation still deletes, and says so in the audit trail', async (t) => {
  const failRevocation: typeof fetch = async (input, init) => {
    if (String(input instanceof Request ? input.url : input).endsWith('/token/revocation')) {
      throw new TypeError('fetch failed')
    }
    return fetch(input, init)
  }
  const { app } = await build(t, { background: false, fetch: failRevocation })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])

  const res = await app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })
  t.equal(res.statusCode, 204)
  t.equal(await app.deps.db.prisma.connection.count(), 0)
  const audit = await app.deps.db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'connection.revoked' } })
  t.match(audit.detail, { revocation: 'failed', error: /could not reach the provider/ })
  t.notMatch(JSON.stringify(audit.detail), alice!.refreshToken)
})

t.test('a provider without a revocation endpoint: deleted, recorded as unsupported', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { withoutRevocation: true })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  await connectUsers(app, idp, ['alice'])
  const res = await app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })
  t.equal(res.statusCode, 204)
  t.equal(idp.server.stats.revocations, 0)
  const audit = await app.deps.db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'connection.revoked' } })
  t.same(audit.detail, { revocation: 'unsupported' })
})

t.test('admin: force a refresh, delete by id', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, { background: false, now: () => new Date(clock) })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600 })
  const [alice] = await connectUsers(app, idp, ['alice'])
  const id = alice!.connectionId

  t.equal((await app.inject({ method: 'POST', url: `/admin/connections/${id}/refresh` })).statusCode, 401)
  const refreshed = await app.inject({ method: 'POST', url: `/admin/connections/${id}/refresh`, headers: admin })
  t.equal(refreshed.statusCode, 200)
  t.match(refreshed.json(), { id, provider: 'idp', userId: 'alice', status: 'active', failureCount: 0 })
  t.notMatch(refreshed.body, alice!.accessToken)
  t.notMatch(refreshed.body, alice!.refreshToken)
  t.notOk('accessToken' in refreshed.json())
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'refreshed although not due')

  // in backoff after a failure, an admin refresh still goes to the provider
  idp.server.setTokenFault({ kind: 'status', status: 500, grantType: 'refresh_token', times: 1 })
  clock += 1000
  const failed = await app.inject({ method: 'POST', url: `/admin/connections/${id}/refresh`, headers: admin })
  t.equal(failed.statusCode, 503)
  t.equal(failed.json().error, 'provider_unavailable')
  t.match(failed.json().message, /^refresh failed: provider answered HTTP 500/, 'what GET /tokens would say')
  t.ok(Number(failed.headers['retry-after']) >= 5, `Retry-After: the backoff (${failed.headers['retry-after']} s)`)
  clock += 1000
  const forced = await app.inject({ method: 'POST', url: `/admin/connections/${id}/refresh`, headers: admin })
  t.equal(forced.statusCode, 200)
  t.equal(forced.json().failureCount, 0)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 3)

  const unknown = '00000000-0000-4000-8000-000000000000'
  t.equal(
    (await app.inject({ method: 'POST', url: `/admin/connections/${unknown}/refresh`, headers: admin })).statusCode,
    404,
  )
  t.equal(
    (await app.inject({ method: 'POST', url: '/admin/connections/nope/refresh', headers: admin })).statusCode,
    404,
  )

  const deleted = await app.inject({ method: 'DELETE', url: `/admin/connections/${id}`, headers: admin })
  t.equal(deleted.statusCode, 204)
  t.equal(idp.server.stats.revocations, 2)
  t.equal(await app.deps.db.prisma.connection.count(), 0)
  const audit = await app.deps.db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'connection.revoked' } })
  t.equal(audit.actor, 'admin')
  t.equal((await app.inject({ method: 'DELETE', url: `/admin/connections/${id}`, headers: admin })).statusCode, 404)
})

t.test('a connection deleted on one instance stops being served by another within the cache TTL', async (t) => {
  const a = await build(t, { background: false, instanceId: 'a' })
  const b = await build(t, { background: false, instanceId: 'b', db: a.db, timing: { tokenCacheTtlMs: 500 } })
  const idp = await startIdp(t, a.app)
  const caller = await createCaller(a.app, { allowedProviders: [idp.providerId] })
  await connectUsers(a.app, idp, ['alice'])

  t.equal((await b.app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers })).statusCode, 200)
  const res = await a.app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })
  t.equal(res.statusCode, 204)
  await sleep(600)
  t.equal((await b.app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers })).statusCode, 404)
})

t.test('a refresh in flight finishes before the delete revokes, so the newest token is the one revoked', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])
  await expireConnections(app)
  idp.server.setTokenFault({ kind: 'hang', ms: 300, grantType: 'refresh_token', times: 1 })

  const [served, deleted] = await Promise.all([
    app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers }),
    sleep(50).then(() => app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: caller.headers })),
  ])
  t.equal(served.statusCode, 200)
  t.equal(deleted.statusCode, 204)
  const [revokedRefresh] = idp.server.stats.revokedTokens
  t.not(revokedRefresh, alice?.refreshToken, 'the rotated refresh token was revoked, not the consumed one')
  t.same(await idp.server.introspect(revokedRefresh as string), { active: false })
  t.same(await idp.server.introspect(served.json().accessToken), { active: false })
})

t.test('a revoked caller stops being served within a few seconds', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  await connectUsers(app, idp, ['alice'])
  t.equal((await app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers })).statusCode, 200)
  await app.deps.db.prisma.apiClient.update({ where: { id: caller.id }, data: { revokedAt: new Date() } })
  await sleep(2_100)
  const res = await app.inject({ url: '/tokens/alice?provider=idp', headers: caller.headers })
  t.equal(res.statusCode, 401)
  t.notOk(res.json().accessToken)
})
