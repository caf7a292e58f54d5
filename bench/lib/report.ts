// bench/results.md and results.json: what was measured, against which baseline, and which targets were met.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { ClaimFigures } from './claim.js'
import type { LoadFigures } from './load.js'
import type { RefreshFigures } from './refresh.js'

export interface ScenarioResult {
  name: string
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
  targets: Target[]
  wallSeconds: number
}

const n = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–'
const ms = (value: number) => n(value, value < 10 ? 2 : 1)
const pct = (value: number) => `${n(value * 100, 1)}%`
const table = (head: string[], rows: string[][]) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n')

/** The rate the broker would sustain with a core to itself (one second over its CPU per refresh) over the provider's. */
const refreshCpuRatio = (r: RefreshFigures) => 1e6 / r.brokerCpuUs / r.providerRate

/** The baseline's CPU per request over the scenario's (a paced row's over the paced baseline's). */
function cpuRatio(scenarios: readonly ScenarioResult[], scenario: ScenarioResult): number {
  const name = scenario.name.endsWith('paced') ? 'baseline paced' : 'baseline'
  const baseline = scenarios.find((s) => s.name === name)
  return baseline && scenario.cpuUs ? baseline.cpuUs / scenario.cpuUs : NaN
}

export function evaluateTargets(results: Pick<Results, 'scenarios' | 'refresh' | 'growth'>): Target[] {
  const targets: Target[] = []
  const scenario = (name: string) => results.scenarios.find((s) => s.name === name)
  const hot = scenario('GET /tokens hot')
  if (hot) {
    targets.push({
      target: 'hot GET /tokens ≥ 50% of baseline req/s',
      measured: `${pct(hot.ratio)} (by CPU: ${pct(cpuRatio(results.scenarios, hot))})`,
      met: hot.ratio >= 0.5,
    })
  }
  const paced = scenario('GET /tokens hot paced')
  if (paced) {
    const baseline = scenario('baseline paced')
    const saturated = hot ? `; saturated: ${ms(hot.p99)} ms, baseline ${ms(scenario('baseline')?.p99 ?? NaN)} ms` : ''
    targets.push({
      target: `hot GET /tokens p99 < 5 ms at ${paced.connections} connections (${n(paced.offeredRps ?? NaN)} requests/s offered)`,
      measured: `${ms(paced.p99)} ms (baseline ${ms(baseline?.p99 ?? NaN)} ms${saturated})`,
      met: paced.p99 < 5,
    })
  }
  const cold = scenario('GET /tokens cold')
  if (cold) {
    targets.push({
      target: 'cold GET /tokens ≥ 25% of baseline req/s',
      measured: `${pct(cold.ratio)} (by CPU: ${pct(cpuRatio(results.scenarios, cold))})`,
      met: cold.ratio >= 0.25,
    })
  }
  for (const refresh of results.refresh) {
    targets.push({
      target: `refresh at concurrency ${refresh.concurrency} ≥ 80% of provider capacity, zero duplicates`,
      measured:
        `${pct(refresh.ratio)} (by CPU: ${pct(refreshCpuRatio(refresh))}), ` +
        `${refresh.refreshGrants - refresh.connections + refresh.refreshTokenReuse} duplicates`,
      met: refresh.ratio >= 0.8 && refresh.refreshTokenReuse === 0 && refresh.refreshGrants === refresh.connections,
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
    const drift = (large.rssMb - small.rssMb) / small.rssMb
    targets.push({
      target: `broker RSS ${label.replace('within 2× of', 'within 20% of')}`,
      measured: `${drift >= 0 ? '+' : ''}${pct(drift)}`,
      met: Math.abs(drift) <= 0.2,
    })
  }
  return targets
}

export function renderMarkdown(results: Results, notes: string): string {
  const { machine } = results
  const load = (values: number[]) => values.map((v) => v.toFixed(2)).join(' / ')
  const lines = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\` on ${results.generatedAt} at commit ` +
      `\`${results.commit}\` (Node ${machine.node}, ${machine.cpus} cores, ${n(results.wallSeconds)} s). Load average ` +
      `(1/5/15 min) before: ${load(machine.loadBefore)}, after: ${load(machine.loadAfter)}. Everything shares the ` +
      'machine (load generator, broker, baseline, Postgres, provider), so absolute figures are noisy; each ratio ' +
      'compares measurements taken in the same round, minutes apart at most.',
    '',
    `## HTTP, ${results.scenarios[0]?.connections ?? 100} connections`,
    '',
    'Medians over rounds; each round measures the baseline and then each scenario. CPU is the time the process under ' +
      'test spent per request (user + system, from /proc; Postgres not included): it depends much less on other load ' +
      'than requests/s, and "ratio by CPU" (the baseline\'s CPU per request over the scenario\'s) is what the ratio ' +
      'to baseline would be if each server had a core to itself. Memory is the resident set of the process under test ' +
      'after the scenario. The other rows run as fast as they can, so their latency is connections ÷ throughput ' +
      "(Little's law); the paced rows offer a fixed rate below both servers' capacity and show the latency of the work " +
      'itself.',
    '',
    table(
      [
        'scenario',
        'requests/s',
        'p50 ms',
        'p99 ms',
        'ratio to baseline',
        'CPU µs/request',
        'ratio by CPU',
        'RSS MiB',
        'what',
      ],
      results.scenarios.map((s) => [
        s.name,
        n(s.rps),
        ms(s.p50),
        ms(s.p99),
        s.name === 'baseline' ? '1' : n(s.ratio, 2),
        n(s.cpuUs),
        n(cpuRatio(results.scenarios, s), 2),
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
      "refresh) over the provider's capacity: here the broker, Postgres and the provider share two cores.",
    '',
    table(
      [
        'concurrency',
        'connections',
        'end to end s',
        'active s',
        'broker refreshes/s',
        'provider grants/s (before / after)',
        'ratio',
        'refresh grants seen',
        'refresh tokens reused',
        'broker CPU µs/refresh',
        'ratio by CPU',
        'provider CPU µs/grant (alone / with broker)',
      ],
      results.refresh.map((r) => [
        String(r.concurrency),
        n(r.connections),
        n(r.endToEndSeconds, 2),
        n(r.activeSeconds, 2),
        n(r.brokerRate),
        `${n(r.providerRate)} (${r.providerRates.map((v) => n(v)).join(' / ')})`,
        n(r.ratio, 2),
        n(r.refreshGrants),
        n(r.refreshTokenReuse),
        n(r.brokerCpuUs),
        n(refreshCpuRatio(r), 2),
        `${n(r.providerCpuUs.direct)} / ${n(r.providerCpuUs.broker)}`,
      ]),
    ),
    '',
    '## Growth',
    '',
    "The scheduler's claim statement (imported from `src/db/connection-leases.ts`) timed as it runs, 8 at a time, in " +
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
        'cold GET p50 / p99 ms',
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
        `${ms(g.cold.p50)} / ${ms(g.cold.p99)}`,
        n(g.cold.rps),
        n(g.cold.cpuUs ?? NaN),
        `${n(g.rssMb)} (${(g.rssReadings ?? [g.rssMb]).map((v) => n(v)).join(', ')})`,
        n(g.seedSeconds, 1),
      ]),
    ),
    '',
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
