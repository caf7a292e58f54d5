// /metrics and /readyz answer without credentials, so anyone may call them as often as they like: the database work
// behind them (a GROUP BY over connections, the delivery backlog, the migrations check) runs at most once per period,
// and concurrent calls share one run.
import t from 'tap'
import { build } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'

for (const [url, timing] of [
  ['/metrics', { metricsMaxAgeMs: 400 }],
  ['/readyz', { readinessMaxAgeMs: 400 }],
] as const) {
  t.test(`${url}: a flood of calls costs one query run per period`, async (t) => {
    // the period is measured on the app's clock: a slow machine cannot make the calls outlast it
    let clock = Date.now()
    const { app, db } = await build(t, { background: false, timing, now: () => new Date(clock) })
    await createProvider(app)
    await seedConnection(app, { providerId: 'acme', userId: 'alice' })
    const call = async () => t.equal((await app.inject({ url })).statusCode, 200, url)
    const statements = () => db.statementCount()

    let before = statements()
    await call()
    const oneRun = statements() - before
    t.ok(oneRun >= 1, `one run of the checks: ${oneRun} statements`)

    before = statements()
    await Promise.all(Array.from({ length: 30 }, call))
    for (let i = 0; i < 30; i++) await call()
    t.equal(statements() - before, 0, '60 more calls within the period: no query')

    clock += 500
    before = statements()
    await Promise.all(Array.from({ length: 30 }, call))
    t.equal(statements() - before, oneRun, 'after the period, 30 concurrent calls share one run')
  })
}

t.test('/metrics is at most one period behind the database', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, { background: false, timing: { metricsMaxAgeMs: 300 }, now: () => new Date(clock) })
  await createProvider(app)
  const active = async () => {
    const text = (await app.inject({ url: '/metrics' })).body
    return Number(/^token_broker_connections\{status="active"\} (\d+)$/m.exec(text)?.[1])
  }
  t.equal(await active(), 0)
  await seedConnection(app, { providerId: 'acme', userId: 'alice' })
  t.equal(await active(), 0, 'within the period: the last figure')
  clock += 400
  t.equal(await active(), 1, 'after it: the database')
})
