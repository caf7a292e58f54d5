// One bad provider degrades only itself. A slow provider holds at most its share of the scheduler's slots while
// another provider's connections are due, and a provider that keeps failing opens its circuit: one probe refresh per
// tick instead of a refresh for every due connection, until a probe succeeds. Callers' refreshes (GET /tokens) open it
// as well, and while it is open they are answered at once, but for a probe now and then.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { build } from '../helper.js'
import { createCaller, createProvider, seedConnection } from '../support/fixtures.js'

type Behaviour = 'ok' | 'fail' | { delayMs: number }

/** Token endpoints at /<provider>/token: each answers as its behaviour says, and counts what it got. */
async function startTokenServer(t: { teardown(fn: () => unknown): void }, behaviours: Record<string, Behaviour>) {
  const stats: Record<string, { requests: number; inFlight: number; maxInFlight: number; answeredAt: number[] }> = {}
  for (const name of Object.keys(behaviours)) stats[name] = { requests: 0, inFlight: 0, maxInFlight: 0, answeredAt: [] }
  const server = createServer((req, res) => {
    const name = (req.url ?? '').split('/')[1] ?? ''
    const stat = stats[name]
    const behaviour = behaviours[name]
    req.resume()
    if (!stat || !behaviour) return void res.writeHead(404).end()
    stat.requests += 1
    stat.inFlight += 1
    stat.maxInFlight = Math.max(stat.maxInFlight, stat.inFlight)
    const answer = () => {
      stat.inFlight -= 1
      stat.answeredAt.push(Date.now())
      if (behaviours[name] === 'fail') return void res.writeHead(503).end('down')
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ access_token: `at-${Math.random()}`, token_type: 'Bearer', expires_in: 3600 }))
    }
    if (typeof behaviour === 'object') setTimeout(answer, behaviour.delayMs)
    else answer()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, stats, behaviours }
}

async function seedDue(app: FastifyInstance, providerId: string, count: number, dueSecondsAgo: number) {
  for (let i = 0; i < count; i++) {
    const { id } = await seedConnection(app, { providerId, userId: `${providerId}-${i}` })
    await app.deps.db.prisma.connection.update({
      where: { id },
      data: { expiresAt: new Date(Date.now() + 60_000), nextRefreshAt: new Date(Date.now() - dueSecondsAgo * 1000) },
    })
  }
}

const makeDue = (app: FastifyInstance, providerId: string) =>
  app.deps.db.prisma.connection.updateMany({
    where: { providerId },
    data: { nextRefreshAt: new Date(Date.now() - 1000) },
  })

async function circuitState(app: FastifyInstance, provider: string): Promise<number | undefined> {
  const { values } = await app.deps.metrics.providerCircuitState.get()
  return values.find((value) => value.labels.provider === provider)?.value
}

t.test('a slow provider beside a healthy one: the healthy connections are refreshed at once', async (t) => {
  const { app } = await build(t, { background: false, config: { REFRESH_CONCURRENCY: 4 } })
  const tokens = await startTokenServer(t, { slow: { delayMs: 3_000 }, healthy: 'ok' })
  for (const id of ['slow', 'healthy']) {
    await createProvider(app, {
      id,
      authorizationEndpoint: `${tokens.base}/${id}/authorize`,
      tokenEndpoint: `${tokens.base}/${id}/token`,
    })
  }
  // the slow provider's connections are due first, and outnumber the slots
  await seedDue(app, 'slow', 8, 60)
  await seedDue(app, 'healthy', 8, 10)

  const started = Date.now()
  const report = await app.scheduler.tick()
  t.equal(report.refreshed, 16, 'every due connection is refreshed in the tick')
  const healthy = tokens.stats.healthy
  const slow = tokens.stats.slow
  t.equal(healthy?.requests, 8)
  const lastHealthy = Math.max(...(healthy?.answeredAt ?? [Infinity])) - started
  t.ok(lastHealthy < 2_000, `the healthy provider's connections were all refreshed within ${lastHealthy} ms`)
  const slowAnsweredBefore = (slow?.answeredAt ?? []).filter((at) => at - started < lastHealthy).length
  t.equal(slowAnsweredBefore, 0, 'while the slow provider had not answered yet')
  t.equal(slow?.requests, 8, 'the slow provider still gets every refresh, in the slots left free')
})

t.test('a failing provider opens its circuit: one probe per tick, until it answers again', async (t) => {
  const { app, logs } = await build(t, {
    background: false,
    config: { REFRESH_CONCURRENCY: 4 },
    scheduler: { circuitThreshold: 3 },
  })
  const tokens = await startTokenServer(t, { down: 'fail', healthy: 'ok' })
  for (const id of ['down', 'healthy']) {
    await createProvider(app, {
      id,
      authorizationEndpoint: `${tokens.base}/${id}/authorize`,
      tokenEndpoint: `${tokens.base}/${id}/token`,
    })
  }
  await seedDue(app, 'down', 20, 60)
  await seedDue(app, 'healthy', 6, 10)

  const first = await app.scheduler.tick()
  const down = tokens.stats.down
  t.equal(tokens.stats.healthy?.requests, 6, 'the healthy provider is served')
  t.ok((down?.requests ?? 0) <= 3 + 2, `the failing provider got ${down?.requests} requests, not 20`)
  t.equal(first.refreshed, 6)
  t.equal(await circuitState(app, 'down'), 2, 'its circuit is open')
  t.match(logs.text, /refresh circuit open/)

  await makeDue(app, 'down')
  const before = down?.requests ?? 0
  await app.scheduler.tick()
  t.equal((down?.requests ?? 0) - before, 1, 'the next tick sends one probe')
  t.equal(await circuitState(app, 'down'), 2, 'the failed probe keeps it open')

  tokens.behaviours.down = 'ok'
  await makeDue(app, 'down')
  const third = await app.scheduler.tick()
  t.equal(
    third.refreshed,
    20,
    `${JSON.stringify(third)} a successful probe closes the circuit and the rest follow in the same tick`,
  )
  t.equal(await circuitState(app, 'down'), 0, 'closed')
})

t.test('callers refreshing through a failing provider open its circuit: then one probe per interval', async (t) => {
  const { app } = await build(t, {
    background: false,
    config: { REFRESH_INTERVAL_SECONDS: 1 },
    scheduler: { circuitThreshold: 3 },
  })
  const tokens = await startTokenServer(t, { down: 'fail' })
  await createProvider(app, {
    id: 'down',
    authorizationEndpoint: `${tokens.base}/down/authorize`,
    tokenEndpoint: `${tokens.base}/down/token`,
  })
  const caller = await createCaller(app, { allowedProviders: ['down'] })
  for (let i = 0; i < 8; i++) {
    const { id } = await seedConnection(app, { providerId: 'down', userId: `u${i}` })
    // expired: every read needs a refresh
    await app.deps.db.prisma.connection.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } })
  }
  const get = (i: number) => app.inject({ url: `/tokens/u${i}?provider=down`, headers: caller.headers })
  const calls = () => tokens.stats.down?.requests ?? 0

  for (let i = 0; i < 3; i++) t.equal((await get(i)).statusCode, 503, `u${i}: the provider failed`)
  t.equal(calls(), 3)
  t.equal(await circuitState(app, 'down'), 2, 'three failures in a row open the circuit')
  t.equal((await get(3)).statusCode, 503, 'the first caller after it opened probes')
  t.equal(calls(), 4)
  const paused = await get(4)
  t.equal(paused.statusCode, 503)
  t.equal(calls(), 4, 'the next caller is answered at once, without a call')
  t.match(paused.json(), { error: 'provider_unavailable', message: /refreshes are paused/ })
  t.ok(Number(paused.headers['retry-after']) >= 1, `Retry-After: ${paused.headers['retry-after']}`)

  tokens.behaviours.down = 'ok'
  t.equal((await get(5)).statusCode, 503, 'still paused until the next probe is due')
  t.equal(calls(), 4)
  await sleep(1_100)
  const probed = await get(5)
  t.equal(probed.statusCode, 200, probed.body)
  t.equal(calls(), 5, 'a probe went')
  t.equal(await circuitState(app, 'down'), 0, 'its answer closed the circuit')
  t.equal((await get(6)).statusCode, 200)
  t.equal((await get(7)).statusCode, 200)
  t.equal(calls(), 7, 'and callers refresh as before')
})
