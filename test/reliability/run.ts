// The slow suite: faults the broker must survive, each a scenario against real processes (Postgres of its own, the
// broker as a child process, oidc-provider). Writes RELIABILITY.md; exits non-zero when a scenario fails.
//
//   npm run test:reliability                         # every scenario (about 25 minutes)
//   npm run test:reliability -- --only crash         # one (or a comma-separated list)
//   npm run test:reliability -- --only load --minutes 1
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import type { Scenario, ScenarioResult } from './scenario.js'
import { crash } from './scenarios/crash.js'
import { databaseOutage } from './scenarios/database-outage.js'
import { outageReads } from './scenarios/outage-reads.js'
import { loadHeld } from './scenarios/load-held.js'
import { providerGarbage, providerOutage } from './scenarios/provider-faults.js'

const scenarios: Record<string, Scenario> = {
  'database-outage': databaseOutage,
  'outage-reads': outageReads,
  crash,
  'provider-outage': providerOutage,
  'provider-garbage': providerGarbage,
  load: loadHeld,
}

// the row each scenario writes in RELIABILITY.md, also when it does not complete
const titles: Record<string, string> = {
  'database-outage': 'Database outage',
  'outage-reads': 'Database outage, connections read before',
  crash: 'Crash mid-refresh',
  'provider-outage': 'Provider outage',
  'provider-garbage': 'Provider garbage',
  load: 'Load held',
}

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    minutes: { type: 'string', default: '10' },
    report: { type: 'string', default: fileURLToPath(new URL('../../RELIABILITY.md', import.meta.url)) },
  },
})
const minutes = Number(values.minutes)
if (!Number.isFinite(minutes) || minutes <= 0) throw new Error('--minutes must be a positive number')
const selected = values.only ? values.only.split(',').map((name) => name.trim()) : Object.keys(scenarios)
const unknown = selected.filter((name) => !scenarios[name])
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`)
  process.exit(2)
}

const results: ScenarioResult[] = []
for (const name of selected) {
  const started = Date.now()
  console.log(`\n▶ ${name}`)
  const log = (message: string) =>
    console.log(`  [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}`)
  let result: ScenarioResult
  try {
    result = await (scenarios[name] as Scenario)({ minutes, log })
  } catch (err) {
    result = {
      scenario: titles[name] ?? name,
      load: '',
      result: 'did not complete',
      figures: [],
      failures: [String((err as Error).stack ?? err)],
    }
  }
  results.push(result)
  console.log(`  ${result.failures.length === 0 ? 'PASS' : 'FAIL'} ${result.result}`)
  for (const figure of result.figures) console.log(`    ${figure}`)
  for (const failure of result.failures) console.log(`  ✗ ${failure}`)
}

writeReport(values.report as string, results)
const failed = results.filter((result) => result.failures.length > 0)
console.log(`\n${results.length - failed.length}/${results.length} scenarios passed; report: ${values.report}`)
// oidc-provider and pooled sockets keep timers alive
process.exit(failed.length === 0 ? 0 : 1)

function writeReport(path: string, fresh: ScenarioResult[]): void {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
  const row = (r: ScenarioResult) =>
    `| ${cell(r.scenario)} | ${cell(r.load)} | ${r.failures.length === 0 ? 'pass' : 'FAIL'}: ${cell(r.result)} | ${cell(
      [...r.figures, ...r.failures.map((f) => `✗ ${f.split('\n')[0]}`)].join('; '),
    )} |`
  // rows of scenarios not run this time are kept from the previous report
  const previous = existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('| '))
    : []
  const rows = new Map<string, string>()
  for (const line of previous.slice(2)) rows.set(line.split(' | ')[0]?.slice(2) ?? '', line)
  for (const result of fresh) rows.set(result.scenario, row(result))
  const order = Object.values(titles)
  const rank = (scenario: string) => (order.includes(scenario) ? order.indexOf(scenario) : order.length)
  const sorted = [...rows.entries()].sort(([a], [b]) => rank(a) - rank(b))
  const text = [
    '# Reliability',
    '',
    'Written by `npm run test:reliability` (see README, "Reliability suite"). Each scenario runs the broker as its own',
    'process (`src/server.ts`) against a Postgres cluster of its own and a real authorization server (oidc-provider,',
    'rotating refresh tokens), and fails when its assertion does not hold.',
    '',
    `Last run: ${new Date().toISOString()} on ${cpus().length} cores, load average ${loadavg()
      .map((n) => n.toFixed(1))
      .join(' / ')} at the end, Node ${process.version}.`,
    '',
    '| scenario | load | result | figures |',
    '| --- | --- | --- | --- |',
    ...sorted.map(([, line]) => line),
    '',
  ].join('\n')
  writeFileSync(path, text)
}
