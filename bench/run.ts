// npm run bench [-- --quick] [--no-build] [--profile] [--only=refresh,http,growth] [--scenarios=hot,cold,authorizations]
//   [--node-flags="--max-semi-space-size=16"]
// npm run bench -- --render: rewrites bench/results.md from bench/results.json and bench/profile-notes.md, measuring nothing
//
// Builds the broker, then in one run: its own Postgres database, oidc-provider, the broker from dist/ as a production
// process, and a bare Fastify baseline; measures HTTP scenarios as ratios to the baseline, refresh throughput against
// the provider's own capacity, and how the claim query, cold reads and memory grow with stored connections. Writes
// bench/results.md and results.json (full runs; others go to bench/.work/) and prints the tables. Missed targets are
// reported, never fatal; a scenario that errors (non-2xx, duplicate refresh, timeout) fails the run.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type pg from 'pg'
import pino from 'pino'
import { buildApp } from '../src/app.js'
import { openDatabase } from '../src/db/client.js'
import { testConfig } from '../test/helper.js'
import { createTestDatabase } from '../test/support/database.js'
import { startIdp } from '../test/support/token-fixture.js'
import { createCaller } from '../test/support/fixtures.js'
import { PGBOUNCER, startPgbouncer } from '../test/support/pgbouncer.js'
import { timeClaim } from './lib/claim.js'
import { imageCommand, imageRuntime, imageTuning } from './lib/image-flags.js'
import { median, rotating, runLoad, shuffled, type LoadFigures, type LoadOptions } from './lib/load.js'
import { runPaced, type PacedOptions } from './lib/paced.js'
import { measureRefresh, type RefreshFigures } from './lib/refresh.js'
import {
  evaluateTargets,
  rowLabel as label,
  writeResults,
  type GrowthResult,
  type PooledResult,
  type Results,
  type ScenarioResult,
} from './lib/report.js'
import { seedConnections, syntheticUserId } from './lib/seed.js'
import { freePort, killAll, root, startService, timeToReady, workDir, type Service } from './lib/services.js'

const argv = process.argv.slice(2)
const quick = argv.includes('--quick')
const only = argv
  .find((arg) => arg.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',')
const runs = (part: 'refresh' | 'http' | 'growth') => !only || only.includes(part)
const profile = argv.includes('--profile')
// HTTP scenarios besides the baseline, by the last word of their name (to profile one at a time)
const pickedScenarios = argv
  .find((arg) => arg.startsWith('--scenarios='))
  ?.slice('--scenarios='.length)
  .split(',')

// Node flags for every server the bench starts (baseline, ceiling, brokers), as a comparison of runtime settings
const nodeFlags = (argv.find((arg) => arg.startsWith('--node-flags='))?.slice('--node-flags='.length) ?? '')
  .split(' ')
  .filter(Boolean)

const image = imageRuntime()

/** How a broker process is run: its Node flags, and variables beneath the bench's own. */
interface BrokerRuntime {
  nodeFlags: string[]
  env?: Record<string, string>
}

const plan = quick
  ? { rounds: 1, warmupS: 1, durationS: 2, coldRequests: 1_500, growthLarge: 50_000, growthSample: 1_500 }
  : { rounds: 5, warmupS: 2, durationS: 5, coldRequests: 9_900, growthLarge: 10_000_000, growthSample: 9_900 }
const settings = {
  ...plan,
  connections: 100,
  /** Offered load of the paced rows: latency when the server is not saturated. */
  pacedRate: 1_000,
  storedForCold: 10_000,
  refreshConnections: quick ? 100 : 2_000,
  /** Refresh rows: slots per broker, and broker processes refreshing the same connections at once. */
  refreshRuns: quick
    ? [
        { concurrency: 8, replicas: 1 },
        { concurrency: 8, replicas: 2 },
      ]
    : [
        { concurrency: 8, replicas: 1 },
        { concurrency: 32, replicas: 1 },
        { concurrency: 32, replicas: 2 },
        { concurrency: 32, replicas: 4 },
      ],
  startups: quick ? 1 : 5,
  claimIterations: quick ? 20 : 50,
  claimLimit: 8,
  growthConnections: 10,
  growthBrokers: quick ? 1 : 3,
  logLevel: 'warn',
  refreshIntervalSeconds: 1,
  nodeFlags: [...nodeFlags, ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${join(workDir, 'profiles')}`] : [])],
  /** The image's Node flags (its CMD): a second broker runs the HTTP rows with them, the broker as shipped. */
  imageFlags: image.flags,
  /** That broker's command: the flags, and the variables of the image's ENV that tune the runtime. */
  imageCommand: imageCommand(image),
}
// the broker keeps a served token 3 s: a cold read must not meet a user requested less than that ago
const TOKEN_CACHE_SECONDS = 3

const say = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`)
const cleanups: Array<() => Promise<unknown> | unknown> = []

async function main(): Promise<Results> {
  const started = Date.now()
  const loadBefore = loadavg()
  mkdirSync(workDir, { recursive: true })
  if (!argv.includes('--no-build')) {
    say('building (npm run build)')
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' })
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`)
  }

  // a database of its own on the test server, copied from the suite's migrated template, dropped at the end
  const db = await createTestDatabase('tb_bench')
  cleanups.push(() => db.drop())
  const database = openDatabase({ url: db.url, poolSize: 4 })
  cleanups.push(() => database.close())
  const key = { id: 'bench1', key: randomBytes(32) }
  const secrets = { COOKIE_SECRET: randomBytes(32).toString('base64url'), ADMIN_TOKEN: randomBytes(24).toString('hex') }
  const config = testConfig({ ENCRYPTION_KEYS: [key], ...secrets, REFRESH_WINDOW_SECONDS: 300 })
  // an in-process app on the same database, never listening: the fixtures seed through its services and keyring
  const tool = await buildApp({ config, database, logger: pino({ level: 'silent' }), background: false })
  await tool.ready()
  cleanups.push(() => tool.close())
  const idp = await startIdp({ teardown: (fn) => cleanups.push(fn) }, tool, { accessTokenTtl: 3600 })
  const grantTimes: number[] = []
  idp.server.provider.on('grant.success', (ctx: { oidc?: { params?: { grant_type?: unknown } } }) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') grantTimes.push(Date.now())
  })
  const caller = await createCaller(tool, { allowedProviders: [idp.providerId] })
  const auth = { authorization: `Bearer ${caller.apiKey}` }

  const brokerEnv = (port: number, concurrency: number, databaseUrl = db.url) => ({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    DATABASE_URL: databaseUrl,
    DATA_DIR: join(workDir, 'data'),
    ENCRYPTION_KEYS: `${key.id}:${key.key.toString('base64')}`,
    ...secrets,
    REFRESH_INTERVAL_SECONDS: String(settings.refreshIntervalSeconds),
    REFRESH_CONCURRENCY: String(concurrency),
    // the start-link row issues thousands of links for one caller in a minute: the cap on open flows is not measured
    MAX_OPEN_FLOWS_PER_CALLER: '1000000',
    LOG_LEVEL: settings.logLevel,
  })
  const startBroker = async (
    concurrency: number,
    name = `broker-c${concurrency}`,
    databaseUrl = db.url,
    runtime: BrokerRuntime = { nodeFlags: settings.nodeFlags },
  ): Promise<Service> => {
    const port = await freePort()
    return startService({
      name,
      entry: 'dist/server.js',
      port,
      nodeFlags: runtime.nodeFlags,
      readyPath: '/readyz',
      env: { ...runtime.env, ...brokerEnv(port, concurrency, databaseUrl) },
    })
  }
  // the time a new replica takes to be ready on a migrated database (this one is migrated by the fixtures above)
  const startupMs: number[] = []
  for (let i = 0; i < settings.startups; i++) {
    const port = await freePort()
    startupMs.push(
      await timeToReady({
        name: 'broker-startup',
        entry: 'dist/server.js',
        port,
        nodeFlags: [],
        readyPath: '/readyz',
        env: brokerEnv(port, 8),
      }),
    )
  }
  say(`startup to /readyz: ${startupMs.map((v) => v.toFixed(0)).join(', ')} ms`)

  const refresh: RefreshFigures[] = []
  if (runs('refresh')) {
    for (const { concurrency, replicas } of settings.refreshRuns) {
      say(`refresh: ${settings.refreshConnections} due connections, concurrency ${concurrency}, ${replicas} broker(s)`)
      const figures = await measureRefresh(
        { tool, idp, pool: database.pool, grantTimes, startBroker },
        { connections: settings.refreshConnections, concurrency, replicas, timeoutSeconds: quick ? 120 : 600 },
      )
      say(
        `  broker ${figures.brokerRate.toFixed(0)}/s over ${figures.activeSeconds.toFixed(2)} s ` +
          `(end to end ${figures.endToEndSeconds.toFixed(2)} s), provider ${figures.providerRate.toFixed(0)}/s, ` +
          `ratio ${figures.ratio.toFixed(2)}`,
      )
      refresh.push(figures)
    }
  }

  const scenarios: ScenarioResult[] = []
  const growth: GrowthResult[] = []
  let pooled: PooledResult | undefined
  if (runs('http') || runs('growth')) {
    say(`seeding ${settings.storedForCold.toLocaleString('en-US')} stored connections`)
    const seedSeconds = await seedConnections(database.pool, tool.deps.keyring, {
      providerId: idp.providerId,
      first: 1,
      count: settings.storedForCold,
    })
    const tokenPath = (n: number) => `/tokens/${syntheticUserId(n)}?provider=${idp.providerId}`
    const users = Array.from({ length: settings.storedForCold }, (_, i) => i + 1)
    // a broker of its own for each part, so that the memory of one measurement does not carry over to the next
    const withBroker = async <T>(
      name: string,
      fn: (broker: Service) => Promise<T>,
      runtime?: BrokerRuntime,
    ): Promise<T> => {
      const broker = await startBroker(8, name, db.url, runtime)
      try {
        const result = await fn(broker)
        const problems = broker.problems()
        if (problems.length > 0) throw new Error(`${name} logged problems:\n${problems.slice(0, 5).join('\n')}`)
        return result
      } finally {
        await broker.stop()
      }
    }

    if (runs('http')) {
      scenarios.push(
        ...(await withBroker('broker', (broker) =>
          withBroker(
            'broker-image',
            (shipped) => measureHttp({ broker, shipped }, auth, tokenPath, users, idp.providerId, db.url),
            { nodeFlags: [...settings.imageFlags, ...settings.nodeFlags], env: imageTuning(image) },
          ),
        )),
      )
      pooled = await measurePooled(db.name, (url) => startBroker(8, 'broker-pgbouncer', url), auth, users, tokenPath)
    }
    if (runs('growth')) {
      const measure = (stored: number, seeded: number) =>
        measureGrowth(
          (i, fn) => withBroker(`broker-${stored}-${i + 1}`, fn),
          database.pool,
          tokenPath,
          stored,
          seeded,
          auth,
        )
      growth.push(await measure(settings.storedForCold, seedSeconds))
      say(`seeding up to ${plan.growthLarge.toLocaleString('en-US')} stored connections`)
      const more = await seedConnections(database.pool, tool.deps.keyring, {
        providerId: idp.providerId,
        first: settings.storedForCold + 1,
        count: plan.growthLarge - settings.storedForCold,
      })
      growth.push(await measure(plan.growthLarge, more))
    }
  }

  const partial = { scenarios, refresh, growth, pooled, startupMs, settings }
  return {
    generatedAt: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
    machine: { node: process.versions.node, cpus: cpus().length, loadBefore, loadAfter: loadavg() },
    ...partial,
    targets: evaluateTargets(partial),
    wallSeconds: (Date.now() - started) / 1000,
  }
}

/** Statements the broker has sent to the database so far, read from its /metrics. */
async function statementsOf(service: Service): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith('token_broker_database_statements_total '))
  return Number(line?.split(' ')[1] ?? NaN)
}

/**
 * Baseline, hot, cold and POST /authorizations, in rounds; ratios pair each scenario with its round's baseline (the
 * cold rows also with the ceiling: a bare route doing one primary-key read on a pool like the broker's). The hot, cold
 * and start-link rows run again on `shipped`, a broker run as the image runs it (its flags and tuning).
 */
async function measureHttp(
  { broker, shipped }: { broker: Service; shipped: Service },
  auth: Record<string, string>,
  tokenPath: (n: number) => string,
  users: number[],
  providerId: string,
  databaseUrl: string,
): Promise<ScenarioResult[]> {
  const baseline = await startService({
    name: 'baseline',
    entry: 'bench/baseline-server.mjs',
    port: await freePort(),
    nodeFlags: settings.nodeFlags,
    readyPath: '/',
    env: { NODE_ENV: 'production', LOG_LEVEL: settings.logLevel },
  })
  cleanups.push(() => baseline.stop())
  const ceiling = await startService({
    name: 'ceiling',
    entry: 'bench/ceiling-server.mjs',
    port: await freePort(),
    nodeFlags: settings.nodeFlags,
    readyPath: '/',
    env: { NODE_ENV: 'production', LOG_LEVEL: settings.logLevel, DATABASE_URL: databaseUrl },
  })
  cleanups.push(() => ceiling.stop())
  const connections = settings.connections
  const timed = { connections, durationS: plan.durationS }
  const warm = { connections, durationS: plan.warmupS }
  const hotPath = tokenPath(1)
  for (const service of [broker, shipped]) {
    const first = await fetch(service.url + hotPath, { headers: auth })
    if (first.status !== 200) throw new Error(`GET ${hotPath} answered ${first.status}: ${await first.text()}`)
  }
  const authorization = (service: Service) => ({
    origin: service.url,
    method: 'POST' as const,
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: providerId, userId: 'bench-user' }),
    path: () => '/authorizations',
  })
  // fewer requests than users (by more than the connections): no user is asked twice in a pass
  const coldUsers = () => shuffled(users).slice(0, plan.coldRequests + connections)

  interface Scenario {
    name: string
    /** Set on the rows of the broker run as the image runs it. */
    variant?: string
    description: string
    service: Service
    /** As fast as the server answers (closed loop), or paced at a fixed rate. */
    load: () => Promise<LoadOptions | PacedOptions>
    /** Run once before the first round, unmeasured. */
    warmUp?: LoadOptions
  }
  const hot = (service: Service): Scenario => ({
    name: 'GET /tokens hot',
    description: 'one user, token already served (cache, keys warm)',
    service,
    load: async () => ({ origin: service.url, path: () => hotPath, headers: auth, ...timed }),
    warmUp: { origin: service.url, path: () => hotPath, headers: auth, ...warm },
  })
  const cold = (service: Service): Scenario => ({
    name: 'GET /tokens cold',
    description: `each request a different user of ${users.length.toLocaleString('en-US')} stored: database read and decryption`,
    service,
    load: async () => {
      await sleep((TOKEN_CACHE_SECONDS + 0.5) * 1000)
      return {
        origin: service.url,
        connections,
        amount: plan.coldRequests,
        headers: auth,
        path: rotating(coldUsers().map(tokenPath)),
      }
    },
  })
  const startLink = (service: Service): Scenario => ({
    name: 'POST /authorizations',
    description: 'start link: caller check, provider read, one insert',
    service,
    load: async () => ({ ...authorization(service), ...timed }),
    warmUp: { ...authorization(service), ...warm },
  })
  const asShipped = (scenario: Scenario): Scenario => ({
    ...scenario,
    variant: 'as the image runs it',
    description: `${scenario.description}; the broker as the image runs it (\`${settings.imageCommand}\`)`,
  })
  const scenarios: Scenario[] = [
    {
      name: 'baseline',
      description: 'bare Fastify route, constant small JSON',
      service: baseline,
      load: async () => ({ origin: baseline.url, path: () => '/', ...timed }),
      warmUp: { origin: baseline.url, path: () => '/', ...warm },
    },
    hot(broker),
    // At saturation, 100 connections always have a request waiting, so latency is connections ÷ throughput (Little's
    // law) whatever the server does; the paced rows offer a fixed rate instead and show the latency of the work itself.
    {
      name: 'baseline paced',
      description: `the baseline at ${settings.pacedRate.toLocaleString('en-US')} requests/s offered`,
      service: baseline,
      load: async () => ({ url: baseline.url, connections, rate: settings.pacedRate, durationS: plan.durationS }),
    },
    {
      name: 'GET /tokens hot paced',
      description: `hot GET /tokens at ${settings.pacedRate.toLocaleString('en-US')} requests/s offered`,
      service: broker,
      load: async () => ({
        url: broker.url + hotPath,
        headers: auth,
        connections,
        rate: settings.pacedRate,
        durationS: plan.durationS,
      }),
    },
    {
      name: 'ceiling',
      description:
        "bare Fastify route doing one primary-key read on a pool like the broker's, each request another row",
      service: ceiling,
      load: async () => {
        const picked = coldUsers()
        return { origin: ceiling.url, connections, amount: plan.coldRequests, path: (i) => `/c/${picked[i]}` }
      },
      warmUp: { origin: ceiling.url, path: (i) => `/c/${(i % users.length) + 1}`, ...warm },
    },
    cold(broker),
    startLink(broker),
    asShipped(hot(shipped)),
    asShipped(cold(shipped)),
    asShipped(startLink(shipped)),
  ]
  const picked = scenarios.filter(
    ({ name }) =>
      name === 'baseline' ||
      name === 'ceiling' ||
      !pickedScenarios ||
      pickedScenarios.some((key) => name.endsWith(key)),
  )
  type Run = { figures: LoadFigures; rssMb: number; statements: number }
  const runsOf = new Map<string, Run[]>(picked.map((s) => [label(s), []]))
  for (let round = 0; round < plan.rounds; round++) {
    for (const scenario of picked) {
      if (round === 0 && scenario.warmUp) await runLoad(`${label(scenario)} warm-up`, scenario.warmUp, { warmUp: true })
      const load = await scenario.load()
      const counted = scenario.service === broker || scenario.service === shipped
      const statementsBefore = counted ? await statementsOf(scenario.service) : NaN
      const cpuBefore = scenario.service.cpuSeconds()
      const figures = 'rate' in load ? await runPaced(label(scenario), load) : await runLoad(label(scenario), load)
      figures.cpuUs = ((scenario.service.cpuSeconds() - cpuBefore) * 1e6) / figures.requests
      // the metrics read itself is one statement-free request; background ticks are a few statements a second
      const statements = counted ? ((await statementsOf(scenario.service)) - statementsBefore) / figures.requests : NaN
      runsOf.get(label(scenario))?.push({ figures, rssMb: scenario.service.rssMb(), statements })
      say(
        `round ${round + 1} ${label(scenario)}: ${figures.rps.toFixed(0)} req/s, p50 ${us(figures.p50)} µs, ` +
          `p99 ${us(figures.p99)} µs, ${figures.cpuUs.toFixed(0)} µs CPU/request` +
          (counted ? `, ${statements.toFixed(3)} statements/request` : ''),
      )
    }
  }
  await baseline.stop()
  await ceiling.stop()
  const baselineRuns = runsOf.get('baseline') as Run[]
  const ceilingRuns = runsOf.get('ceiling') as Run[]
  return picked.map((scenario) => {
    const { name, variant, description } = scenario
    const list = runsOf.get(label(scenario)) as Run[]
    const cold = name.includes('cold')
    return {
      name,
      ...(variant ? { variant } : {}),
      description,
      connections,
      rounds: list.map((r) => r.figures),
      rps: median(list.map((r) => r.figures.rps)),
      p50: median(list.map((r) => r.figures.p50)),
      p99: median(list.map((r) => r.figures.p99)),
      // a paced row's rate is the one offered: compared with the baseline's, it says nothing
      ratio: name.endsWith('paced')
        ? NaN
        : median(list.map((r, i) => r.figures.rps / (baselineRuns[i] as Run).figures.rps)),
      cpuUs: median(list.map((r) => r.figures.cpuUs as number)),
      rssMb: median(list.map((r) => r.rssMb)),
      statements: median(list.map((r) => r.statements)),
      ...(cold
        ? { ceilingRatio: median(list.map((r, i) => r.figures.rps / (ceilingRuns[i] as Run).figures.rps)) }
        : {}),
      ...(name.endsWith('paced') ? { offeredRps: settings.pacedRate } : {}),
    }
  })
}

const us = (ms: number) => Math.round(ms * 1000).toLocaleString('en-US')

/** Cold reads through PgBouncer in transaction mode (`pgbouncer=true`): every answer must be a 200. */
async function measurePooled(
  databaseName: string,
  start: (databaseUrl: string) => Promise<Service>,
  auth: Record<string, string>,
  users: number[],
  tokenPath: (n: number) => string,
): Promise<PooledResult | undefined> {
  if (!existsSync(PGBOUNCER)) {
    say(`${PGBOUNCER} is not installed: no PgBouncer row`)
    return undefined
  }
  const pooler = await startPgbouncer({ poolSize: 5 })
  try {
    const broker = await start(`${pooler.url(databaseName)}?pgbouncer=true`)
    try {
      await sleep((TOKEN_CACHE_SECONDS + 0.5) * 1000)
      const cpuBefore = broker.cpuSeconds()
      const figures = await runLoad('GET /tokens cold via PgBouncer', {
        origin: broker.url,
        connections: settings.connections,
        amount: plan.coldRequests,
        headers: auth,
        path: rotating(shuffled(users).map(tokenPath)),
      })
      figures.cpuUs = ((broker.cpuSeconds() - cpuBefore) * 1e6) / figures.requests
      const errors = broker.problems().length
      say(`PgBouncer: ${figures.rps.toFixed(0)} req/s, ${errors} problems logged`)
      return { figures, problemsLogged: errors, poolSize: 5 }
    } finally {
      await broker.stop()
    }
  } finally {
    await pooler.close()
  }
}

/**
 * Claim statement timings; then cold GET /tokens over distinct random users and the resident memory afterwards, in
 * fresh brokers one after the other (memory differs by 15% between identical brokers: one reading proves little).
 */
async function measureGrowth(
  inBroker: <T>(i: number, fn: (broker: Service) => Promise<T>) => Promise<T>,
  pool: pg.Pool,
  tokenPath: (n: number) => string,
  stored: number,
  seedSeconds: number,
  auth: Record<string, string>,
): Promise<GrowthResult> {
  say(`growth at ${stored.toLocaleString('en-US')} stored connections`)
  const claim = { limit: settings.claimLimit, iterations: settings.claimIterations }
  const claimIdle = await timeClaim(pool, { ...claim, due: 0 })
  const claimDue = await timeClaim(pool, { ...claim, due: 1_000 })
  const runs: Array<{ cold: LoadFigures; rssMb: number }> = []
  for (let i = 0; i < settings.growthBrokers; i++) {
    runs.push(
      await inBroker(i, async (broker) => {
        const picked = new Set<number>()
        const wanted = Math.min(stored, plan.growthSample + settings.growthConnections * 2)
        while (picked.size < wanted) picked.add(1 + Math.floor(Math.random() * stored))
        const cpuBefore = broker.cpuSeconds()
        const cold = await runLoad(`cold GET /tokens at ${stored}`, {
          origin: broker.url,
          connections: settings.growthConnections,
          amount: Math.min(plan.growthSample, wanted - settings.growthConnections * 2),
          headers: auth,
          path: rotating(shuffled([...picked]).map(tokenPath)),
        })
        cold.cpuUs = ((broker.cpuSeconds() - cpuBefore) * 1e6) / cold.requests
        // once the load is over: the median of three readings a second apart
        const readings: number[] = []
        for (let r = 0; r < 3; r++) {
          await sleep(1000)
          readings.push(broker.rssMb())
        }
        return { cold, rssMb: median(readings) }
      }),
    )
  }
  const of = (pick: (figures: LoadFigures) => number) => median(runs.map((run) => pick(run.cold)))
  const cold: LoadFigures = {
    requests: of((f) => f.requests),
    seconds: of((f) => f.seconds),
    rps: of((f) => f.rps),
    p50: of((f) => f.p50),
    p90: of((f) => f.p90),
    p99: of((f) => f.p99),
    max: of((f) => f.max),
    cpuUs: of((f) => f.cpuUs as number),
  }
  const rssReadings = runs.map((run) => run.rssMb)
  const rssMb = median(rssReadings)
  say(
    `  claim none due ${claimIdle.medianMs.toFixed(2)} ms, 1,000 due ${claimDue.medianMs.toFixed(2)} ms ` +
      `(${claimDue.plan}); cold p50 ${cold.p50} ms p99 ${cold.p99} ms; RSS ${rssReadings.join(', ')} MiB`,
  )
  return { stored, claimIdle, claimDue, cold, rssMb, rssReadings, seedSeconds }
}

async function cleanup(): Promise<void> {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {})
  cleanups.length = 0
}

process.once('SIGINT', () => {
  killAll()
  void cleanup().finally(() => process.exit(130))
})

if (argv.includes('--render')) {
  const base = join(root, 'bench', 'results')
  const results = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as Results
  results.targets = evaluateTargets(results)
  console.log(
    writeResults(results, { md: `${base}.md`, json: `${base}.json`, notes: join(root, 'bench', 'profile-notes.md') }),
  )
  process.exit(0)
}

try {
  const results = await main()
  await cleanup()
  // only a full run of every scenario from a fresh build replaces the committed results
  const official =
    !quick && !only && !profile && !pickedScenarios && nodeFlags.length === 0 && !argv.includes('--no-build')
  const base = official ? join(root, 'bench', 'results') : join(workDir, `results-${results.mode}`)
  const markdown = writeResults(results, {
    md: `${base}.md`,
    json: `${base}.json`,
    notes: join(root, 'bench', 'profile-notes.md'),
  })
  console.log(`\n${markdown}`)
  say(`wrote ${base}.md and ${base}.json`)
  if (profile) say(`CPU profiles in ${join(workDir, 'profiles')} (summarise with bench/profile-top.ts)`)
  process.exit(0)
} catch (err) {
  console.error(`[bench] failed: ${err instanceof Error ? err.message : String(err)}`)
  killAll()
  await cleanup()
  process.exit(1)
}
