// bench/results.md and results.json: what was measured, against which baseline, and which targets were met.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { ClaimFigures } from './claim.js'
import type { LoadFigures } from './load.js'
import type { RefreshFigures } from './refresh.js'

export interface ScenarioResult {
  name: string
  /** Set on the rows of a broker run with other Node flags (the image's), beside the same rows with Node's defaults. */
  variant?: string
  description: string
  connections: number
  /** One entry per round; the figures below are medians over rounds. */
  rounds: LoadFigures[]
  rps: number
  p50: number
  p99: number
  /** Median over rounds of (this scenario's req/s ÷ the baseline's req/s in the same round). */
  ratio: number
  /** The fixed rate offered to a paced row (requests/s over all connections). */
  offeredRps?: number
  /** Median CPU time of the process under test per request, in microseconds: less sensitive to other load. */
  cpuUs: number
  rssMb: number
  /** Database statements the broker sent per request (NaN for the other servers). */
  statements: number
  /** Cold rows: median over rounds of requests/s over the ceiling row's in the same round. */
  ceilingRatio?: number
}

export interface GrowthResult {
  stored: number
  claimIdle: ClaimFigures
  claimDue: ClaimFigures
  cold: LoadFigures
  /** Median over the brokers measured; one reading each in rssReadings. */
  rssMb: number
  rssReadings: number[]
  seedSeconds: number
}

export interface PooledResult {
  figures: LoadFigures
  problemsLogged: number
  poolSize: number
}

export interface Target {
  target: string
  measured: string
  met: boolean
}

export interface Results {
  generatedAt: string
  mode: 'full' | 'quick'
  commit: string
  machine: { node: string; cpus: number; loadBefore: number[]; loadAfter: number[] }
  settings: Record<string, unknown>
  scenarios: ScenarioResult[]
  refresh: RefreshFigures[]
  growth: GrowthResult[]
  pooled?: PooledResult | undefined
  /** Milliseconds from `node dist/server.js` to /readyz 200 on a migrated database, one per start. */
  startupMs?: number[]
  targets: Target[]
  wallSeconds: number
}

const n = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–'
const ms = (value: number) => n(value, value < 10 ? 2 : 1)
/** A latency measured in milliseconds, shown in microseconds. */
const us = (valueMs: number) => n(valueMs * 1000)
const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const table = (head: string[], rows: string[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')

/** A row's name in the tables and logs: the scenario, and the broker's flags when they are not Node's defaults. */
export const rowLabel = ({ name, variant }: Pick<ScenarioResult, 'name' | 'variant'>) =>
  variant ? `${name}, ${variant}` : name

/** The rate the broker would sustain with a core to itself (one second over its CPU per refresh) over the provider's. */
const refreshCpuRatio = (r: RefreshFigures) => 1e6 / r.brokerCpuUs / r.providerRate
/** What a refresh costs the broker beside what the grant costs the provider (alone). */
const refreshCostRatio = (r: RefreshFigures) => r.brokerCpuUs / r.providerCpuUs.direct

/** The baseline's CPU per request over the scenario's (a paced row's over the paced baseline's). */
function cpuRatio(scenarios: readonly ScenarioResult[], scenario: ScenarioResult): number {
  const name = scenario.name.endsWith('paced') ? 'baseline paced' : 'baseline'
  const baseline = scenarios.find((s) => s.name === name)
  return baseline && scenario.cpuUs ? baseline.cpuUs / scenario.cpuUs : NaN
}

export function evaluateTargets(
  results: Pick<Results, 'scenarios' | 'refresh' | 'growth' | 'pooled' | 'startupMs' | 'settings'>,
): Target[] {
  const targets: Target[] = []
  const scenario = (name: string) => results.scenarios.find((s) => s.name === name && !s.variant)
  const byCpu = (name: string, at: number) => {
    const row = scenario(name)
    if (!row) return
    const ratio = cpuRatio(results.scenarios, row)
    targets.push({
      target: `${name}, ratio by CPU to bare Fastify ≥ ${at}`,
      measured: `${n(ratio, 2)} (req/s: ${n(row.ratio, 2)})`,
      met: ratio >= at,
    })
  }
  byCpu('GET /tokens hot', 0.85)
  byCpu('GET /tokens cold', 0.5)
  const cold = scenario('GET /tokens cold')
  if (cold?.ceilingRatio !== undefined) {
    targets.push({
      target: 'cold GET /tokens req/s over the ceiling row (one primary-key read on the same pool) ≥ 0.8',
      measured: n(cold.ceilingRatio, 2),
      met: cold.ceilingRatio >= 0.8,
    })
  }
  byCpu('POST /authorizations', 0.25)
  for (const refresh of results.refresh.filter((r) => r.replicas === 1)) {
    targets.push({
      target: `broker CPU per refresh over provider CPU per grant ≤ 0.4 (concurrency ${refresh.concurrency})`,
      measured: `${n(refreshCostRatio(refresh), 2)} (${n(refresh.brokerCpuUs)} / ${n(refresh.providerCpuUs.direct)} µs)`,
      met: refreshCostRatio(refresh) <= 0.4,
    })
  }
  const c32 = results.refresh.find((r) => r.concurrency === 32 && r.replicas === 1)
  if (c32) {
    const duplicates = c32.refreshGrants - c32.connections + c32.refreshTokenReuse
    targets.push({
      target: "refresh at concurrency 32 ≥ 0.9 of the provider's capacity, 0 duplicates",
      measured: `${n(c32.ratio, 2)} (by CPU: ${n(refreshCpuRatio(c32), 2)}), ${duplicates} duplicates`,
      met: c32.ratio >= 0.9 && duplicates === 0,
    })
  }
  for (const replicated of results.refresh.filter((r) => r.replicas > 1)) {
    const duplicates = replicated.refreshGrants - replicated.connections + replicated.refreshTokenReuse
    targets.push({
      target: `${replicated.replicas} brokers refreshing the same connections: 0 duplicates`,
      measured: `${duplicates} duplicates, ${n(replicated.emptyClaims)} empty claims`,
      met: duplicates === 0,
    })
  }
  const baseline = scenario('baseline')
  const brokerRows = results.scenarios.filter((s) => Number.isFinite(s.statements))
  // each broker's resident set after its last row: with Node's defaults, and as the image runs it
  const memory = [
    { label: "Node's defaults", row: brokerRows.filter((s) => !s.variant).at(-1) },
    ...(results.settings.imageFlags
      ? [
          {
            label: results.settings.imageCommand
              ? `as the image runs it, \`${results.settings.imageCommand as string}\``
              : `the image's flags, \`${(results.settings.imageFlags as string[]).join(' ')}\``,
            row: brokerRows.filter((s) => s.variant).at(-1),
          },
        ]
      : []),
  ]
  for (const { label, row } of memory) {
    if (!baseline || !row) continue
    const ratio = row.rssMb / baseline.rssMb
    targets.push({
      target: `broker resident memory after the HTTP rows over bare Fastify's ≤ 1.6× (${label})`,
      measured: `${n(ratio, 2)}× (${n(row.rssMb)} / ${n(baseline.rssMb)} MiB)`,
      met: ratio <= 1.6,
    })
  }
  if (results.startupMs?.length) {
    const startup = median(results.startupMs)
    targets.push({
      target: '`node dist/server.js` to /readyz 200 on a migrated database ≤ 0.5 s',
      measured: `${n(startup / 1000, 2)} s (${results.startupMs.map((v) => n(v)).join(', ')} ms)`,
      met: startup <= 500,
    })
  }
  const statements = (name: string) => scenario(name)?.statements ?? NaN
  const perRefresh = median(results.refresh.filter((r) => r.replicas === 1).map((r) => r.statementsPerRefresh))
  if (results.scenarios.length > 0 || results.refresh.length > 0) {
    const [hot, coldRead] = [statements('GET /tokens hot'), statements('GET /tokens cold')]
    targets.push({
      target: 'database statements per hot read / cold read / refresh ≤ 0 / 1 / 2',
      measured: `${n(hot, 3)} / ${n(coldRead, 2)} / ${n(perRefresh, 2)}`,
      met: hot < 0.005 && coldRead <= 1 && perRefresh <= 2,
    })
  }
  if (results.pooled) {
    targets.push({
      target: 'through PgBouncer in transaction mode: a cold read row with 0 errors',
      measured: `${n(results.pooled.figures.requests)} reads, ${results.pooled.problemsLogged} problems logged`,
      met: results.pooled.problemsLogged === 0,
    })
  }
  const [small, large] = results.growth
  if (small && large) {
    const label = `at ${n(large.stored)} within 2× of ${n(small.stored)}`
    const within = (name: string, a: number, b: number) =>
      targets.push({ target: `${name} ${label}`, measured: `${n(b / a, 2)}×`, met: b <= 2 * a })
    within('claim query (1,000 due)', small.claimDue.medianMs, large.claimDue.medianMs)
    within('claim query (none due)', small.claimIdle.medianMs, large.claimIdle.medianMs)
    within('cold GET /tokens p50', small.cold.p50, large.cold.p50)
    within('cold GET /tokens p99', small.cold.p99, large.cold.p99)
  }
  return targets
}

export function renderMarkdown(results: Results, notes: string): string {
  const { machine } = results
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ')
  const flags =
    (results.settings.nodeFlags as string[] | undefined)?.filter((flag) => !flag.startsWith('--cpu-prof')) ?? []
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\` on ${results.generatedAt} at commit ` +
      `\`${results.commit}\` (Node ${machine.node}, ${machine.cpus} cores, ${n(results.wallSeconds)} s). Load average ` +
      `(1/5/15 min) before: ${load(machine.loadBefore)}, after: ${load(machine.loadAfter)}. Everything shares the ` +
      'machine (load generator, broker, baseline, Postgres, provider), so absolute figures are noisy; each ratio ' +
      'compares measurements taken in the same round, minutes apart at most.' +
      (flags.length > 0 ? ` Every server ran with \`${flags.join(' ')}\` (the start row excepted).` : ''),
    '',
    `## HTTP, ${results.scenarios[0]?.connections ?? 100} connections`,
    '',
    'Medians over rounds; each round measures the baseline and then each scenario. CPU is the time the process under ' +
      'test spent per request (user + system, from /proc; Postgres not included): it depends much less on other load ' +
      'than requests/s, and "ratio by CPU" (the baseline\'s CPU per request over the scenario\'s) is what the ratio ' +
      'to baseline would be if each server had a core to itself. Memory is the resident set of the process under test ' +
      'after the scenario. The other rows run as fast as they can, so their latency is connections ÷ throughput ' +
      "(Little's law); the paced rows offer a fixed rate below both servers' capacity and show the latency of the work " +
      'itself. Statements are those the broker sent to the database per request (its own counter, read from /metrics ' +
      'around each row; the background polls add a few a second). The ceiling row is a bare Fastify route doing one ' +
      "primary-key read on a pool like the broker's: what a cold read could cost at best; the cold row's ratio to it is " +
      'in brackets.',
    '',
    table(
      [
        'scenario',
        'requests/s',
        'p50 µs',
        'p99 µs',
        'ratio to baseline',
        'CPU µs/request',
        'ratio by CPU',
        'statements/request',
        'RSS MiB',
        'what',
      ],
      results.scenarios.map((s) => [
        rowLabel(s),
        n(s.rps),
        us(s.p50),
        us(s.p99),
        s.name === 'baseline'
          ? '1'
          : n(s.ratio, 2) + (s.ceilingRatio === undefined ? '' : ` (ceiling: ${n(s.ceilingRatio, 2)})`),
        n(s.cpuUs),
        n(cpuRatio(results.scenarios, s), 2),
        Number.isFinite(s.statements) ? n(s.statements, 3) : '–',
        n(s.rssMb),
        s.description,
      ]),
    ),
    '',
    '## Refresh throughput',
    '',
    'Connections with real, rotating refresh tokens made due at once; the scheduler ticks every second. "Active" runs ' +
      'from the first refresh request the provider receives to the last new token stored; "end to end" from the ' +
      "moment they were made due (it includes waiting for the next tick). The provider's capacity is the same grant " +
      'with the same concurrency from a separate process without the broker, measured just before and just after. ' +
      '"Ratio by CPU" is the rate the broker would sustain with a core to itself (one second over its CPU per ' +
      "refresh) over the provider's capacity: here the broker, Postgres and the provider share two cores. Rows with " +
      'several brokers run that many broker processes on the same due connections at once (CPU summed over them): on ' +
      'two cores they show the cost of coordinating (leases, claims that find nothing), not a speed-up. The provider ' +
      'has served since the bench began; each row starts its brokers anew, so they first refresh other connections, ' +
      "half as many as the row's (untimed for the ratios; their CPU, the code not yet compiled, is in the column " +
      '"first after start"), and the figures are those of the row\'s connections after them.',
    '',
    table(
      [
        'concurrency',
        'brokers',
        'connections',
        'end to end s',
        'active s',
        'broker refreshes/s',
        'provider grants/s (before / after)',
        'ratio',
        'refresh grants seen',
        'refresh tokens reused',
        'broker CPU µs/refresh',
        'first after start: broker CPU µs/refresh',
        'ratio by CPU',
        'provider CPU µs/grant (alone / with broker)',
        'broker CPU over provider CPU',
        'statements/refresh',
        'empty claims',
      ],
      results.refresh.map((r) => [
        String(r.concurrency),
        String(r.replicas ?? 1),
        n(r.connections),
        n(r.endToEndSeconds, 2),
        n(r.activeSeconds, 2),
        n(r.brokerRate),
        `${n(r.providerRate)} (${r.providerRates.map((v) => n(v)).join(' / ')})`,
        n(r.ratio, 2),
        n(r.refreshGrants),
        n(r.refreshTokenReuse),
        n(r.brokerCpuUs),
        r.warmupCpuUs === undefined ? '–' : `${n(r.warmupCpuUs)} (${n(r.warmupConnections ?? NaN)})`,
        n(refreshCpuRatio(r), 2),
        `${n(r.providerCpuUs.direct)} / ${n(r.providerCpuUs.broker)}`,
        n(refreshCostRatio(r), 2),
        n(r.statementsPerRefresh ?? NaN, 2),
        n(r.emptyClaims ?? NaN),
      ]),
    ),
    '',
    '## Growth',
    '',
    "The scheduler's claim statement (imported from `src/db/connections/leases.ts`) timed as it runs, 8 at a time, in " +
      'a transaction rolled back after each claim; cold `GET /tokens` over distinct random users at ' +
      `${n(Number(results.settings.growthConnections))} connections, each request a different user, then the resident ` +
      `memory of the broker once the load is over, in ${n(Number(results.settings.growthBrokers))} fresh brokers per ` +
      'row one after the other (same history for every reading; identical brokers differ by up to 15%); latency ' +
      'figures are medians over those brokers.',
    '',
    table(
      [
        'stored connections',
        'claim, none due: median / p95 ms',
        'claim, 1,000 due: median / p95 ms',
        'claim plan',
        'cold GET p50 / p99 µs',
        'cold req/s',
        'cold CPU µs/request',
        'broker RSS MiB: median (each broker)',
        'seeded in s',
      ],
      results.growth.map((g) => [
        n(g.stored),
        `${ms(g.claimIdle.medianMs)} / ${ms(g.claimIdle.p95Ms)}`,
        `${ms(g.claimDue.medianMs)} / ${ms(g.claimDue.p95Ms)}`,
        g.claimDue.plan,
        `${us(g.cold.p50)} / ${us(g.cold.p99)}`,
        n(g.cold.rps),
        n(g.cold.cpuUs ?? NaN),
        `${n(g.rssMb)} (${(g.rssReadings ?? [g.rssMb]).map((v) => n(v)).join(', ')})`,
        n(g.seedSeconds, 1),
      ]),
    ),
    '',
    ...(results.startupMs?.length
      ? [
          '## Start',
          '',
          `\`node dist/server.js\` to the first 200 from /readyz on a migrated database, polled every 5 ms: ` +
            `${results.startupMs.map((v) => `${n(v)} ms`).join(', ')} (median ${n(median(results.startupMs))} ms).`,
          '',
        ]
      : []),
    ...(results.pooled
      ? [
          '## Through PgBouncer',
          '',
          `A broker with \`pgbouncer=true\` in DATABASE_URL behind Debian's PgBouncer in transaction mode ` +
            `(${results.pooled.poolSize} server connections), cold GET /tokens over 100 connections: ` +
            `${n(results.pooled.figures.requests)} reads, ${n(results.pooled.figures.rps)} req/s, p50 ` +
            `${us(results.pooled.figures.p50)} µs, p99 ${us(results.pooled.figures.p99)} µs, ` +
            `${n(results.pooled.figures.cpuUs ?? NaN)} µs CPU/request, ${results.pooled.problemsLogged} problems logged.`,
          '',
        ]
      : []),
    '## Targets',
    '',
    table(
      ['target', 'measured', ''],
      results.targets.map((t) => [t.target, t.measured, t.met ? 'met' : '**missed**']),
    ),
    '',
  ]
  if (notes.trim()) lines.push(notes.trim(), '')
  return lines.join('\n')
}

export function writeResults(results: Results, paths: { md: string; json: string; notes: string }): string {
  const notes = existsSync(paths.notes) ? readFileSync(paths.notes, 'utf8') : ''
  const markdown = renderMarkdown(results, notes)
  writeFileSync(paths.md, markdown)
  writeFileSync(paths.json, JSON.stringify(results, null, 2) + '\n')
  return markdown
}
