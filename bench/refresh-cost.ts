// The broker's own CPU per scheduled refresh, without a provider's cost or a shared machine's noise in it: N
// connections made due again and again, refreshed by the scheduler of a broker in this process against a token
// endpoint that answers at once with new tokens and an ID token (bench/instant-token-server.mjs, a process of its own),
// on a real Postgres. CPU is this process's (user + system) per refresh, for each round, then the median of the rounds
// after the first (which includes compiling the code).
//   node --import tsx bench/refresh-cost.ts [--connections=2000] [--rounds=7] [--concurrency=32] [--provider-interval=0]
// --provider-interval=<µs>: the token endpoint answers one request per interval at most, as a provider at its capacity
// does (the bench's refresh rows: oidc-provider at about 1,300 µs per grant), so the refreshes end one by one.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { build } from '../test/helper.js'
import { createProvider, seedConnection } from '../test/support/fixtures.js'
import { quantileOf } from './lib/load.js'

const option = (name: string, fallback: number) =>
  Number(process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback)
const connections = option('connections', 2000)
const rounds = option('rounds', 7)
const concurrency = option('concurrency', 32)
const providerInterval = option('provider-interval', 0)

const server = spawn(
  process.execPath,
  [join(import.meta.dirname, 'instant-token-server.mjs'), '0', 'instant-client', String(providerInterval)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
)
const [portLine] = (await once(server.stdout, 'data')) as [Buffer]
const base = `http://127.0.0.1:${portLine.toString().trim()}`
const teardowns: Array<() => unknown> = []
try {
  const { app } = await build(
    { teardown: (fn: () => unknown) => teardowns.push(fn) },
    { background: false, config: { REFRESH_CONCURRENCY: concurrency, LOG_LEVEL: 'warn' } },
  )
  await createProvider(app, {
    id: 'instant',
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
  })
  for (let i = 0; i < connections; i++) await seedConnection(app, { providerId: 'instant', userId: `user-${i}` })
  const warmRounds: number[] = []
  for (let round = 1; round <= rounds; round++) {
    await app.deps.db.sql.rows({
      text: `UPDATE connections SET next_refresh_at = now() - interval '1 minute', expires_at = now() + interval '1 minute'`,
      values: [],
    })
    const statements = app.deps.db.statementCount()
    const cpu = process.cpuUsage()
    const started = performance.now()
    const report = await app.scheduler.tick()
    const used = process.cpuUsage(cpu)
    if (report.refreshed !== connections) {
      throw new Error(`round ${round}: ${report.refreshed} of ${connections} connections refreshed`)
    }
    const seconds = (performance.now() - started) / 1000
    const per = (us: number) => (us / report.refreshed).toFixed(0)
    console.log(
      `round ${round}: ${report.refreshed} refreshed in ${seconds.toFixed(2)} s, ` +
        `${per(used.user + used.system)} µs of CPU per refresh (user ${per(used.user)}, system ${per(used.system)}), ` +
        `${((app.deps.db.statementCount() - statements) / report.refreshed).toFixed(2)} statements per refresh`,
    )
    if (round > 1) warmRounds.push((used.user + used.system) / report.refreshed)
  }
  if (warmRounds.length > 0) {
    const sorted = warmRounds.sort((a, b) => a - b)
    const at = (q: number) => quantileOf(sorted, q)
    console.log(
      `rounds 2-${rounds}: median ${at(0.5).toFixed(0)} µs of CPU per refresh ` +
        `(lowest ${at(0).toFixed(0)}, quartiles ${at(0.25).toFixed(0)}-${at(0.75).toFixed(0)})`,
    )
  }
} finally {
  for (const teardown of teardowns.reverse()) await teardown()
  server.kill()
}
