import t from 'tap'
import { clientSecretContext } from '../../src/providers/registry.js'
import { build } from '../helper.js'
import { expireConnections, mintUsers, startIdp, storedRefreshTokens } from '../support/token-fixture.js'
import { createCaller } from '../support/fixtures.js'

t.test('provider 500, then hanging past the timeout, then back: active throughout, retried, refreshed', async (t) => {
  let clock = Date.now()
  const { app, logs } = await build(t, {
    background: false,
    now: () => new Date(clock),
    timing: { providerTimeoutSeconds: 3 },
  })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const users = await mintUsers(app, idp, ['u0', 'u1', 'u2'])
  const original = await storedRefreshTokens(app)
  const { prisma } = app.deps.db
  const rows = () => prisma.connection.findMany({ orderBy: { userId: 'asc' } })
  const afterBackoff = async () => {
    clock = Math.max(...(await rows()).map((row) => row.nextRefreshAt?.getTime() ?? 0)) + 1
  }
  await expireConnections(app)

  // 1. the token endpoint answers 500
  idp.server.setTokenFault({ kind: 'status', status: 500, grantType: 'refresh_token' })
  const onDemand = await app.inject({ url: '/tokens/u0?provider=idp', headers: caller.headers })
  t.equal(onDemand.statusCode, 503)
  t.equal(onDemand.json().error, 'provider_unavailable')
  t.ok(Number(onDemand.headers['retry-after']) >= 1, 'with Retry-After')
  const again = await app.inject({ url: '/tokens/u0?provider=idp', headers: caller.headers })
  t.equal(again.statusCode, 503, 'still in backoff')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'a caller asking again does not reach the provider')

  const first = await app.scheduler.tick()
  t.same([first.claimed, first.failed], [2, 2], 'the other two fail in the scheduler; u0 waits for its backoff')
  for (const row of await rows()) {
    t.equal(row.status, 'active')
    t.equal(row.failureCount, 1)
    t.match(row.lastError, /server_error|HTTP 500/)
  }

  // 2. the token endpoint hangs past the provider timeout (3 s, not less: a loaded test machine is slow to answer)
  idp.server.setTokenFault({ kind: 'hang', grantType: 'refresh_token' })
  await afterBackoff()
  const started = Date.now()
  const second = await app.scheduler.tick()
  t.same([second.claimed, second.failed], [3, 3])
  // under the default provider timeout (10 s): the 3 s one was applied
  t.ok(Date.now() - started < 9_000, 'bounded by the timeout')
  for (const row of await rows()) {
    t.equal(row.status, 'active')
    t.equal(row.failureCount, 2)
    t.match(row.lastError, /did not answer in time/)
    t.equal(row.leaseOwner, null)
  }
  t.same(await storedRefreshTokens(app), original, 'no refresh token lost or replaced')

  // 3. the provider is back
  idp.server.setTokenFault(null)
  await afterBackoff()
  const third = await app.scheduler.tick()
  t.same([third.claimed, third.refreshed], [3, 3])
  const recovered = await storedRefreshTokens(app)
  for (const row of await rows()) {
    t.equal(row.status, 'active')
    t.equal(row.failureCount, 0)
    t.equal(row.lastError, null)
    t.not(recovered.get(row.id), original.get(row.id), 'rotated')
  }
  t.equal(idp.server.stats.refreshTokenReuse, 0, 'no refresh token presented twice')
  const served = await app.inject({ url: '/tokens/u0?provider=idp', headers: caller.headers })
  t.equal(served.statusCode, 200)
  t.equal((await idp.server.introspect(served.json().accessToken)).active, true)
  for (const user of users) t.notMatch(logs.text, user.refreshToken, 'no token in the logs')
})

t.test('invalid_client flags the provider and condemns no connection', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, { background: false, now: () => new Date(clock) })
  const idp = await startIdp(t, app, { brokerClientSecret: 'not-the-secret' })
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  await mintUsers(app, idp, ['u0', 'u1'])
  await expireConnections(app)
  const {
    keyring,
    db: { prisma },
  } = app.deps

  const report = await app.scheduler.tick()
  t.same([report.claimed, report.failed], [2, 2])
  const provider = await prisma.provider.findUniqueOrThrow({ where: { id: idp.providerId } })
  t.equal(provider.credentialsStatus, 'invalid_client')
  t.match(provider.credentialsError, /client credentials/)
  const connections = await prisma.connection.findMany()
  t.ok(connections.every((row) => row.status === 'active' && row.failureCount === 1 && row.nextRefreshAt))
  t.equal(await prisma.auditEvent.count({ where: { action: 'provider.credentials_rejected' } }), 1, 'audited once')
  const res = await app.inject({ url: '/tokens/u0?provider=idp', headers: caller.headers })
  t.equal(res.statusCode, 503)

  // the operator fixes the secret
  const secret = idp.server.clients[0]?.client_secret as string
  await prisma.provider.update({
    where: { id: idp.providerId },
    data: { clientSecretEnc: keyring.encrypt(secret, clientSecretContext(idp.providerId)) },
  })
  clock = Math.max(...connections.map((row) => row.nextRefreshAt!.getTime())) + 1
  const fixed = await app.scheduler.tick()
  t.same([fixed.claimed, fixed.refreshed], [2, 2])
  const healed = await prisma.provider.findUniqueOrThrow({ where: { id: idp.providerId } })
  t.equal(healed.credentialsStatus, 'ok')
  t.equal(healed.credentialsError, null)
})
