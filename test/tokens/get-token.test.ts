import t from 'tap'
import { build } from '../helper.js'
import { createCaller } from '../support/fixtures.js'
import { connectUsers, expireConnections, startIdp, storedRefreshToken } from '../support/token-fixture.js'

const tokenUrl = (userId: string, query = '') => `/tokens/${encodeURIComponent(userId)}${query ? `?${query}` : ''}`

t.test('serves the stored token while it is valid for minTtl, without calling the provider', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600 })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])

  const res = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.equal(body.accessToken, alice?.accessToken)
  t.equal(body.tokenType, 'Bearer')
  t.equal(body.provider, 'idp')
  t.equal(body.userId, 'alice')
  t.match(body.scope, /openid/)
  t.ok(Date.parse(body.expiresAt) > Date.now() + 3500_000)
  t.same(Object.keys(body).sort(), ['accessToken', 'expiresAt', 'metadata', 'provider', 'scope', 'tokenType', 'userId'])
  t.same(body.metadata, {}, 'a provider without a template keeps no metadata')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 0)

  const omitted = await app.inject({ url: tokenUrl('alice'), headers: caller.headers })
  t.equal(omitted.statusCode, 200, 'provider may be left out when exactly one is configured')
  t.equal(omitted.json().accessToken, alice?.accessToken)
})

t.test('401 without a key, 403 for a provider the caller may not use, 404, 400', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  await startIdp(t, app, { providerId: 'other' })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  await connectUsers(app, idp, ['alice'])

  const anonymous = await app.inject({ url: tokenUrl('alice', 'provider=idp') })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().error, 'unauthorized')
  const wrongKey = await app.inject({
    url: tokenUrl('alice', 'provider=idp'),
    headers: { authorization: 'Bearer nope' },
  })
  t.equal(wrongKey.statusCode, 401)

  const forbidden = await app.inject({ url: tokenUrl('alice', 'provider=other'), headers: caller.headers })
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().error, 'forbidden')
  t.notOk(forbidden.json().accessToken)

  const missing = await app.inject({ url: tokenUrl('bob', 'provider=idp'), headers: caller.headers })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')

  const ambiguous = await app.inject({ url: tokenUrl('alice'), headers: caller.headers })
  t.equal(ambiguous.statusCode, 400, 'provider is required once two providers are configured')
  t.equal(ambiguous.json().error, 'invalid_request')

  for (const minTtl of ['abc', '-1', '1.5', '999999']) {
    const bad = await app.inject({ url: tokenUrl('alice', `provider=idp&minTtl=${minTtl}`), headers: caller.headers })
    t.equal(bad.statusCode, 400, `minTtl=${minTtl}`)
    t.equal(bad.json().error, 'invalid_request')
  }
})

t.test('50 concurrent requests for an expired token share one refresh', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { accessTokenTtl: 60, rotateRefreshToken: true })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])
  await expireConnections(app)

  const answers = await Promise.all(
    Array.from({ length: 50 }, () => app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })),
  )
  t.same(
    answers.map((res) => res.statusCode),
    Array(50).fill(200),
  )
  const tokens = new Set(answers.map((res) => res.json().accessToken))
  t.equal(tokens.size, 1, 'every caller got the same token')
  t.not([...tokens][0], alice?.accessToken, 'a new token')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'the provider saw exactly one refresh')
  t.equal(idp.server.stats.refreshTokenReuse, 0)
  t.equal((await idp.server.introspect([...tokens][0] as string)).active, true)

  const rotated = await storedRefreshToken(app, alice!.connectionId)
  t.not(rotated, alice?.refreshToken, 'the rotated refresh token is stored')
  const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: alice!.connectionId } })
  t.equal(row.leaseOwner, null, 'lease released')
  t.equal(row.lifetimeSeconds, 60)
  t.ok(row.nextRefreshAt && row.nextRefreshAt > new Date(), 'next refresh scheduled')
  const audit = await app.deps.db.prisma.auditEvent.findMany({ where: { action: 'connection.refreshed' } })
  t.equal(audit.length, 1)
  const refreshes = (await app.deps.metrics.refreshes.get()).values
  t.same(
    refreshes.map((v) => [v.labels, v.value]),
    [[{ trigger: 'on_demand', outcome: 'success' }, 1]],
  )
})

t.test('two instances asked at once for the same expired token refresh it once', async (t) => {
  const a = await build(t, { background: false, instanceId: 'a' })
  const b = await build(t, { background: false, instanceId: 'b', db: a.db })
  const idp = await startIdp(t, a.app, { accessTokenTtl: 60 })
  const caller = await createCaller(a.app, { allowedProviders: [idp.providerId] })
  await connectUsers(a.app, idp, ['alice'])
  await expireConnections(a.app)
  // a slow provider keeps the first refresh in flight while the other instance asks
  idp.server.setTokenFault({ kind: 'hang', ms: 300, grantType: 'refresh_token', times: 1 })

  const answers = await Promise.all(
    [a.app, b.app, a.app, b.app].map((app) =>
      app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers }),
    ),
  )
  t.same(
    answers.map((res) => res.statusCode),
    [200, 200, 200, 200],
  )
  t.equal(new Set(answers.map((res) => res.json().accessToken)).size, 1)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1)
  t.equal(idp.server.stats.refreshTokenReuse, 0)
})

t.test('minTtl is capped at half the granted lifetime', async (t) => {
  const { app } = await build(t, { background: false, timing: { tokenCacheTtlMs: 0 } })
  const idp = await startIdp(t, app, { accessTokenTtl: 100 })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])

  // 100 s lifetime: minTtl 3600 counts as 50, which the fresh token meets
  const capped = await app.inject({ url: tokenUrl('alice', 'provider=idp&minTtl=3600'), headers: caller.headers })
  t.equal(capped.statusCode, 200)
  t.equal(capped.json().accessToken, alice?.accessToken)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 0)

  // with 40 s left, the default minTtl (60, capped at 50) asks for a refresh
  await app.deps.db.prisma.connection.updateMany({ data: { expiresAt: new Date(Date.now() + 40_000) } })
  const refreshed = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(refreshed.statusCode, 200)
  t.not(refreshed.json().accessToken, alice?.accessToken)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1)
  // but minTtl=30 is met by 40 s
  await app.deps.db.prisma.connection.updateMany({ data: { expiresAt: new Date(Date.now() + 40_000) } })
  const enough = await app.inject({ url: tokenUrl('alice', 'provider=idp&minTtl=30'), headers: caller.headers })
  t.equal(enough.json().accessToken, refreshed.json().accessToken)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1)
})

t.test('a token response without expires_in gets the provider default lifetime', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { omitExpiresIn: true, defaultTokenLifetimeSeconds: 1800 })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])
  await expireConnections(app)

  const res = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(res.statusCode, 200)
  const expiresIn = (Date.parse(res.json().expiresAt) - Date.now()) / 1000
  t.ok(expiresIn > 1790 && expiresIn <= 1800, `expires in ${expiresIn}s`)
  const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: alice!.connectionId } })
  t.equal(row.lifetimeSeconds, 1800)
  t.ok(row.nextRefreshAt, 'still scheduled for refresh')
  t.equal(row.nextRefreshAt!.getTime(), row.expiresAt!.getTime() - 300_000, 'REFRESH_WINDOW_SECONDS before expiry')
})

t.test('a refresh response without refresh_token keeps the stored one', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { omitRefreshTokenOnRefresh: true })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])

  for (let round = 1; round <= 2; round++) {
    await expireConnections(app)
    app.services.tokenCache.clear()
    const res = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
    t.equal(res.statusCode, 200)
    t.equal(await storedRefreshToken(app, alice!.connectionId), alice?.refreshToken, `round ${round}: kept`)
  }
  t.equal(idp.server.stats.tokenRequests.refresh_token, 2, 'and it keeps working')
})

t.test('a grant revoked at the provider: reauthorization_required, 409, audited', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])
  await idp.server.revokeGrantsFor('alice')
  await expireConnections(app)

  const res = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(res.statusCode, 409)
  t.equal(res.json().error, 'reauthorization_required')
  const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: alice!.connectionId } })
  t.equal(row.status, 'reauthorization_required')
  t.equal(row.nextRefreshAt, null)
  t.equal(row.leaseOwner, null)
  t.ok(await storedRefreshToken(app, alice!.connectionId), 'the refresh token is not wiped')
  const audit = await app.deps.db.prisma.auditEvent.findMany({
    where: { action: 'connection.reauthorization_required', subjectId: alice!.connectionId },
  })
  t.equal(audit.length, 1)
  t.equal(audit[0]?.actor, `client:${caller.id}`)

  const again = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(again.statusCode, 409)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'no second attempt with a dead grant')
})

t.test('the cache never serves a token with less than minTtl left', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, {
    background: false,
    now: () => new Date(clock),
    timing: { tokenCacheTtlMs: 1_000_000 },
  })
  const idp = await startIdp(t, app, { accessTokenTtl: 600 })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])

  const first = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(first.json().accessToken, alice?.accessToken)
  await app.deps.db.prisma.connection.deleteMany({})
  const cached = await app.inject({ url: tokenUrl('alice', 'provider=idp'), headers: caller.headers })
  t.equal(cached.statusCode, 200, 'served from the cache within its TTL')
  const strict = await app.inject({ url: tokenUrl('alice', 'provider=idp&minTtl=300'), headers: caller.headers })
  t.equal(strict.statusCode, 200, '600 s left meet minTtl=300')
  clock += 400_000
  const late = await app.inject({ url: tokenUrl('alice', 'provider=idp&minTtl=300'), headers: caller.headers })
  t.equal(late.statusCode, 404, '200 s left do not: the database is read again')
})

t.test('a provider that refuses early refresh: its margin schedules the refresh and caps minTtl', async (t) => {
  const { app } = await build(t, { background: false, timing: { tokenCacheTtlMs: 0 } })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, refreshMarginSeconds: 60 })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const [alice] = await connectUsers(app, idp, ['alice'])
  const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: alice!.connectionId } })
  t.equal(row.nextRefreshAt!.getTime(), row.expiresAt!.getTime() - 60_000, 'refreshed 60 s before expiry, not 300')

  await app.deps.db.prisma.connection.updateMany({ data: { expiresAt: new Date(Date.now() + 120_000) } })
  const res = await app.inject({ url: tokenUrl('alice', 'provider=idp&minTtl=600'), headers: caller.headers })
  t.equal(res.statusCode, 200)
  t.equal(res.json().accessToken, alice?.accessToken, '120 s left meet minTtl=600 capped at the 60 s margin')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 0, 'no early refresh the provider would refuse')
})
