import t from 'tap'
import { build } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'
import { adminHeaders, connectUser, startFlowEnv } from '../support/flow.js'
import { scrape, type Scrape } from '../support/metrics.js'

t.test('/metrics speaks Prometheus text and needs no credentials', async (t) => {
  const { app } = await build(t)
  const metrics = await scrape(app)
  t.match(metrics.contentType, /^text\/plain; version=0\.0\.4/)
  for (const name of [
    'token_broker_token_requests_total',
    'token_broker_refreshes_total',
    'token_broker_refresh_duration_seconds',
    'token_broker_authorization_flows_total',
    'token_broker_scheduler_lag_seconds',
    'token_broker_connections',
    'token_broker_webhook_deliveries_total',
  ]) {
    t.match(metrics.text, new RegExp(`^# TYPE ${name} (counter|gauge|histogram)$`, 'm'), name)
  }
  t.equal(metrics.value('token_broker_connections{status="active"}'), 0, 'known statuses show as 0')
  t.ok(metrics.series.has('token_broker_connections{status="reauthorization_required"}'))
})

t.test('the connections gauge counts stored connections by status at each scrape', async (t) => {
  const { app, db } = await build(t, { timing: { metricsMaxAgeMs: 0 } })
  await createProvider(app)
  const seeded = []
  for (const [userId, status] of [
    ['alice', 'active'],
    ['bob', 'active'],
    ['carol', 'reauthorization_required'],
  ] as const) {
    seeded.push(await seedConnection(app, { providerId: 'acme', userId, status }))
  }

  const before = await scrape(app)
  t.equal(before.value('token_broker_connections{status="active"}'), 2)
  t.equal(before.value('token_broker_connections{status="reauthorization_required"}'), 1)
  for (const secret of seeded.flatMap((c) => [c.accessToken, c.refreshToken, c.id]).concat(['alice', 'acme'])) {
    t.notOk(before.text.includes(secret), 'no token, connection, user or provider in the metrics')
  }

  await db.prisma.connection.delete({ where: { id: seeded[0]?.id } })
  await db.prisma.connection.update({ where: { id: seeded[2]?.id }, data: { status: 'active' } })
  const after = await scrape(app)
  t.equal(after.value('token_broker_connections{status="active"}'), 2)
  t.equal(
    after.value('token_broker_connections{status="reauthorization_required"}'),
    0,
    'a status that emptied reads 0',
  )
})

t.test('counters move with what the service records', async (t) => {
  const { app } = await build(t)
  const { metrics } = app.deps
  const before = await scrape(app)
  metrics.tokenRequests.inc({ outcome: 'served' })
  metrics.refreshes.inc({ trigger: 'scheduler', outcome: 'success' })
  metrics.refreshDuration.observe(0.2)
  const after = await scrape(app)
  const moved = (series: string) => after.value(series) - before.value(series)
  t.equal(moved('token_broker_token_requests_total{outcome="served"}'), 1)
  t.equal(moved('token_broker_refreshes_total{trigger="scheduler",outcome="success"}'), 1)
  t.equal(moved('token_broker_refresh_duration_seconds_count'), 1)
  t.equal(moved('token_broker_refresh_duration_seconds_bucket{le="0.25"}'), 1)
  t.equal(moved('token_broker_refresh_duration_seconds_bucket{le="0.1"}'), 0)
})

t.test('after a flow, a token request and refreshes, the counters moved', async (t) => {
  const env = await startFlowEnv(t, { app: { background: false, timing: { metricsMaxAgeMs: 0 } } })
  const before = await scrape(env.app)
  const moved = (after: Scrape, series: string) => after.value(series) - before.value(series)

  const { connection } = await connectUser(env, { userId: 'alice' })
  await t.rejects(connectUser(env, { userId: 'bob', authorize: { deny: true } }), /did not connect/)
  const token = await env.app.inject({
    method: 'GET',
    url: `/tokens/alice?provider=${env.providerId}`,
    headers: env.caller.headers,
  })
  t.equal(token.statusCode, 200)
  const refresh = () =>
    env.app.inject({ method: 'POST', url: `/admin/connections/${connection.id}/refresh`, headers: adminHeaders })
  t.equal((await refresh()).statusCode, 200)
  env.server.setTokenFault({ kind: 'status', status: 500, grantType: 'refresh_token', times: 1 })
  t.equal((await refresh()).statusCode, 503)

  const after = await scrape(env.app)
  t.equal(moved(after, 'token_broker_authorization_flows_total{outcome="connected"}'), 1)
  t.equal(moved(after, 'token_broker_authorization_flows_total{outcome="access_denied"}'), 1)
  t.equal(moved(after, 'token_broker_token_requests_total{outcome="served"}'), 1)
  t.equal(moved(after, 'token_broker_refreshes_total{trigger="admin",outcome="success"}'), 1)
  t.equal(moved(after, 'token_broker_refreshes_total{trigger="admin",outcome="transient"}'), 1)
  t.equal(moved(after, 'token_broker_refresh_duration_seconds_count'), 2)
  t.equal(after.value('token_broker_connections{status="active"}'), 1)
})
