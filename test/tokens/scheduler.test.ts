import t from 'tap'
import { build } from '../helper.js'
import {
  expireConnections,
  mintUsers,
  startIdp,
  storedRefreshToken,
  storedRefreshTokens,
} from '../support/token-fixture.js'

t.test('two instances on one database refresh 200 due connections exactly once per cycle', async (t) => {
  const a = await build(t, { background: false, instanceId: 'a' })
  const b = await build(t, { background: false, instanceId: 'b', db: a.db })
  const idp = await startIdp(t, a.app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const users = await mintUsers(
    a.app,
    idp,
    Array.from({ length: 200 }, (_, i) => `user-${i}`),
  )
  const { prisma } = a.app.deps.db

  for (let cycle = 1; cycle <= 2; cycle++) {
    await expireConnections(a.app)
    const before = await storedRefreshTokens(a.app)
    const [fromA, fromB] = await Promise.all([a.app.scheduler.tick(), b.app.scheduler.tick()])
    t.equal(fromA.claimed + fromB.claimed, 200, `cycle ${cycle}: every connection claimed once`)
    t.equal(fromA.refreshed + fromB.refreshed, 200, `cycle ${cycle}: and refreshed`)
    t.ok(
      fromA.claimed > 0 && fromB.claimed > 0,
      `cycle ${cycle}: both instances took part (${fromA.claimed}/${fromB.claimed})`,
    )
    t.equal(idp.server.stats.tokenRequests.refresh_token, 200 * cycle, `cycle ${cycle}: 200 refresh requests`)
    t.equal(idp.server.stats.refreshTokenReuse, 0, `cycle ${cycle}: no refresh token used twice`)

    const after = await storedRefreshTokens(a.app)
    t.ok(
      users.every(({ connectionId: id }) => after.get(id) && after.get(id) !== before.get(id)),
      `cycle ${cycle}: every rotated refresh token is stored`,
    )
    const audit = await prisma.auditEvent.groupBy({
      by: ['subjectId'],
      where: { action: 'connection.refreshed' },
      _count: { _all: true },
    })
    t.equal(audit.length, 200)
    t.ok(
      audit.every((row) => row._count._all === cycle),
      `cycle ${cycle}: one audited refresh per connection`,
    )
  }

  const rows = await prisma.connection.findMany()
  t.ok(
    rows.every((row) => row.status === 'active' && row.leaseOwner === null && row.failureCount === 0),
    'all active, no lease left, no failure',
  )
  t.ok(
    rows.every((row) => row.nextRefreshAt && row.nextRefreshAt.getTime() > Date.now() + 3000_000),
    'next refresh an hour out, minus the window',
  )
  const again = await Promise.all([a.app.scheduler.tick(), b.app.scheduler.tick()])
  t.equal(again[0].claimed + again[1].claimed, 0, 'nothing due right after')
  const lag = await a.app.deps.metrics.schedulerLag.get()
  t.equal(lag.values[0]?.value, 0)
})

t.test('a failing connection backs off instead of being retried every tick, and recovers', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, { background: false, now: () => new Date(clock) })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600 })
  const [alice] = await mintUsers(app, idp, ['alice'])
  const { prisma } = app.deps.db
  // a webhook subscriber, to see the events
  const caller = await prisma.apiClient.create({
    data: { name: 'hooks', keyHash: new Uint8Array(32), keyPrefix: 'tbk_x', allowedProviders: [idp.providerId] },
  })
  await prisma.webhookEndpoint.create({
    data: {
      clientId: caller.id,
      url: 'https://hooks.example/broker',
      events: ['connection.refresh_failed', 'connection.recovered'],
      secretEnc: new Uint8Array(8),
    },
  })
  await expireConnections(app)
  idp.server.setTokenFault({ kind: 'status', status: 503, grantType: 'refresh_token' })

  const attempts: number[] = []
  for (let tick = 0; tick < 40; tick++) {
    const report = await app.scheduler.tick()
    if (report.claimed > 0) attempts.push(tick)
    clock += 15_000 // one REFRESH_INTERVAL_SECONDS per tick
  }
  // 40 ticks = 10 minutes; backoff ceilings 30 s, 1, 2, 4, 8 min: about 6 attempts expected, not 40
  t.ok(attempts.length >= 2 && attempts.length <= 12, `attempted at ticks ${attempts.join(', ')}`)
  t.equal(idp.server.stats.tokenRequests.refresh_token, attempts.length)
  const failing = await prisma.connection.findUniqueOrThrow({ where: { id: alice!.connectionId } })
  t.equal(failing.status, 'active', 'an outage condemns no connection')
  t.equal(failing.failureCount, attempts.length)
  t.match(failing.lastError, /HTTP 503/)
  t.notMatch(failing.lastError, new RegExp(alice!.refreshToken))
  t.ok(failing.nextRefreshAt && failing.nextRefreshAt.getTime() > clock - 15_000, 'next attempt in the future')
  t.equal(await storedRefreshToken(app, alice!.connectionId), alice?.refreshToken, 'refresh token kept')

  idp.server.setTokenFault(null)
  clock = failing.nextRefreshAt!.getTime()
  const recovered = await app.scheduler.tick()
  t.equal(recovered.refreshed, 1)
  const row = await prisma.connection.findUniqueOrThrow({ where: { id: alice!.connectionId } })
  t.equal(row.failureCount, 0)
  t.equal(row.lastError, null)
  const events = await prisma.webhookDelivery.findMany({ orderBy: { createdAt: 'asc' } })
  t.same(
    events.map((delivery) => delivery.event),
    attempts.length >= 3 ? ['connection.refresh_failed', 'connection.recovered'] : [],
    'refresh_failed once at the third failure, then recovered',
  )
  const failures = await prisma.auditEvent.count({ where: { action: 'connection.refresh_failed' } })
  t.equal(failures, attempts.length, 'each failure audited')
})
