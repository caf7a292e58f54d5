// Postgres goes away for OUTAGE_MS under a steady load of GET /tokens while the scheduler refreshes and refresh
// calls are in flight at the provider; then it comes back. Callers must get 503 quickly during the outage, be served
// again within 5 s of the return, and no connection may lose its refresh token.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expireConnections } from '../../support/token-fixture.js'
import { countBy, outcome, percentile, startLoad, type Sample } from '../support/load.js'
import { createWorld, sleepMs, waitFor } from '../support/world.js'
import { Expectations, millis, seconds, userIds, type Scenario } from '../scenario.js'

const CONNECTIONS = 50
const RATE = 40
const OUTAGE_MS = 20_000
const PROVIDER_LATENCY_MS = 300
const RECOVERY_BOUND_MS = 5_000
const OUTAGE_LATENCY_BOUND_MS = 5_000
// GET /tokens waits for a refresh of its own at most the provider timeout (10 s) plus 5 s
const REFRESH_WAIT_BOUND_MS = 20_000

export const databaseOutage: Scenario = async ({ log }) => {
  const expect = new Expectations()
  const world = await createWorld({
    name: 'database-outage',
    authServer: { accessTokenTtl: 20 },
    broker: { LOG_LEVEL: process.env.BROKER_LOG_LEVEL ?? 'warn' },
  })
  try {
    const users = (await world.mint(userIds('db', CONNECTIONS))).map((user) => user.userId)
    // a provider that takes a while, so refreshes are in flight when the database goes
    world.server.setTokenFault({ kind: 'hang', ms: PROVIDER_LATENCY_MS, grantType: 'refresh_token' })
    let next = 0
    const load = startLoad({
      rate: RATE,
      timeoutMs: 30_000,
      next: () => {
        const user = users[next++ % users.length] as string
        // minTtl 5: the scheduler refreshes (at half the lifetime) before a read needs it, as in production
        return { label: user, url: world.tokenUrl(user, 5), init: { headers: world.caller.headers } }
      },
    })
    log('warming up for 15 s')
    await sleepMs(15_000)

    // stop the database right after a refresh reached the provider: its answer must still be stored
    const arrived = world.server.stats.tokenRequests.refresh_token
    await waitFor(async () => world.server.stats.tokenRequests.refresh_token > arrived, 20_000, 5)
    const downAt = Date.now()
    await world.postgres.stop('fast')
    log(`database stopped (took ${millis(Date.now() - downAt)}); outage of ${seconds(OUTAGE_MS)}`)
    await sleepMs(OUTAGE_MS)
    await world.postgres.start()
    const upAt = Date.now()
    log('database started again')
    await sleepMs(20_000)
    const samples = await load.stop()
    writeFileSync(join(world.workDir, 'samples.json'), JSON.stringify({ downAt, upAt, samples }))
    world.server.setTokenFault(null)

    const ended = (sample: Sample) => sample.startedAt + sample.latencyMs
    const before = samples.filter((s) => ended(s) < downAt)
    // in flight when the database went: a request whose refresh was at the provider waits for it, up to its bound
    const straddling = samples.filter((s) => s.startedAt < downAt && ended(s) >= downAt)
    const during = samples.filter((s) => s.startedAt >= downAt && s.startedAt < upAt)
    const after = samples.filter((s) => s.startedAt >= upAt)
    const failedAfter = after.filter((s) => s.status !== 200)
    const lastFailure = failedAfter.reduce((max, s) => Math.max(max, ended(s) - upAt), 0)
    const duringLatency = during.map((s) => s.latencyMs)
    const maxDuring = Math.max(0, ...duringLatency)
    const maxStraddling = Math.max(0, ...straddling.map((s) => s.latencyMs))
    const statusesDuring = countBy(during, outcome)
    const answered = (s: Sample) => s.status === 200 || s.status === 503

    expect.that(
      before.every((s) => s.status === 200),
      `before the outage: ${JSON.stringify(countBy(before, outcome))}`,
    )
    expect.that(
      straddling.every(answered) && maxStraddling <= REFRESH_WAIT_BOUND_MS,
      `in flight at the stop: ${JSON.stringify(countBy(straddling, outcome))}, slowest ${millis(maxStraddling)}`,
    )
    expect.that(
      during.every(answered),
      `during the outage, answers other than 200/503: ${JSON.stringify(statusesDuring)}`,
    )
    expect.that(maxDuring <= OUTAGE_LATENCY_BOUND_MS, `slowest answer during the outage ${millis(maxDuring)}`)
    expect.that(lastFailure <= RECOVERY_BOUND_MS, `last failure ${millis(lastFailure)} after the database returned`)
    expect.that(world.broker.alive(), 'the broker process died')
    const errors = world.broker.errorLines()

    // afterwards: every connection refreshes, and none lost its refresh token to the outage
    const mark = new Date()
    await expireConnections(world.inspector)
    const refreshed = await waitFor(async () => {
      const stale = await world.inspector.deps.db.prisma.connection.count({
        where: { OR: [{ lastRefreshedAt: null }, { lastRefreshedAt: { lt: mark } }] },
      })
      return stale === 0
    }, 90_000)
    const statuses = await world.inspector.deps.db.prisma.connection.groupBy({ by: ['status'], _count: true })
    // compared with the broker stopped: a refresh between reading a row and asking the provider would look like a loss
    const { graceful } = await world.stopBroker()
    expect.that(graceful, 'the broker did not stop within 20 s of SIGTERM')
    const atProvider = await world.refreshTokensAtProvider()
    expect.that(refreshed, 'not every connection refreshed within 90 s after the outage')
    expect.that(
      statuses.length === 1 && statuses[0]?.status === 'active',
      `connection statuses ${JSON.stringify(statuses)}`,
    )
    expect.that(atProvider.invalid.length === 0, `${atProvider.invalid.length} stored refresh tokens no longer valid`)

    return {
      scenario: 'Database outage',
      load: `${RATE} GET /tokens/s (minTtl 5) over ${CONNECTIONS} connections (20 s tokens, scheduler every 2 s, provider 300 ms); Postgres stopped ${seconds(OUTAGE_MS)}`,
      result:
        `during: ${Object.entries(statusesDuring)
          .map(([k, v]) => `${v}× ${k}`)
          .join(', ')}, slowest ${millis(maxDuring)}; ` +
        `served again ${millis(lastFailure)} after the return; ${CONNECTIONS - atProvider.invalid.length}/${CONNECTIONS} refresh tokens valid after`,
      figures: [
        `requests ${samples.length}`,
        `in flight at the stop ${straddling.length}, slowest ${millis(maxStraddling)}`,
        `outage p50 ${millis(percentile(duringLatency, 50))}`,
        `outage p99 ${millis(percentile(duringLatency, 99))}`,
        `outage max ${millis(maxDuring)}`,
        `failures after return ${failedAfter.length}`,
        `recovered after ${millis(lastFailure)}`,
        `refresh tokens lost ${atProvider.invalid.length}`,
        `error log lines ${errors.length}`,
      ],
      failures: expect.failures,
    }
  } finally {
    await world.close()
  }
}
