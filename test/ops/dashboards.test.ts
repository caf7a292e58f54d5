// The Grafana dashboard and the Prometheus alert rules name only series that /metrics exposes, and the rules are
// valid for Prometheus (promtool, Debian's prometheus package, as .ci/run installs it).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { build } from '../helper.js'

const root = join(import.meta.dirname, '..', '..')
const alertsFile = join(root, 'ops', 'prometheus', 'alerts.yml')
const dashboardFile = join(root, 'ops', 'grafana', 'token-broker.json')
// series Prometheus makes itself for every target
const SYNTHETIC = new Set(['up'])
const HISTOGRAM_PARTS = /_(bucket|sum|count)$/

interface Rule {
  alert: string
  expr: string
  annotations?: Record<string, string>
}

const rules = (parse(readFileSync(alertsFile, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (group) => group.rules,
)
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[]
}

/** Every series name an expression or template uses: words followed by a selector, a range or a parenthesis end. */
function seriesIn(text: string): string[] {
  return [...text.matchAll(/\b(token_broker_[a-z_]+|up)\b(?=\s*[{[)]|\s*[=!<>]|\s*$)/gm)].map(
    (match) => match[1] as string,
  )
}

t.test('every series the alerts and the dashboard use is exposed by /metrics', async (t) => {
  const { app } = await build(t, { background: false })
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const families = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((match) => match[1] as string))
  const histograms = new Set([...text.matchAll(/^# TYPE (\S+) histogram$/gm)].map((match) => match[1] as string))
  const exposed = (name: string) =>
    SYNTHETIC.has(name) ||
    families.has(name) ||
    (HISTOGRAM_PARTS.test(name) && histograms.has(name.replace(HISTOGRAM_PARTS, '')))

  const uses = [
    ...rules.flatMap((rule) =>
      [rule.expr, ...Object.values(rule.annotations ?? {})].flatMap((part) =>
        seriesIn(part).map((name) => ({ where: `alert ${rule.alert}`, name })),
      ),
    ),
    ...dashboard.panels.flatMap((panel) =>
      panel.targets.flatMap((target) => seriesIn(target.expr).map((name) => ({ where: `panel ${panel.title}`, name }))),
    ),
  ]
  t.ok(uses.length >= 15, `${uses.length} uses`)
  for (const { where, name } of uses) t.ok(exposed(name), `${where}: ${name}`)
  for (const topic of ['refreshes_total', 'scheduler_lag', 'webhook_oldest_pending', 'invalid_grant']) {
    t.ok(
      rules.some((rule) => rule.expr.includes(topic)),
      `an alert on ${topic}`,
    )
  }
  t.equal(dashboard.panels.length, 8)
})

t.test(
  'promtool accepts the alert rules',
  { skip: spawnSync('promtool', ['--version']).status !== 0 && 'no promtool' },
  async (t) => {
    const result = spawnSync('promtool', ['check', 'rules', alertsFile], { encoding: 'utf8' })
    t.equal(result.status, 0, result.stdout + result.stderr)
    t.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`))
  },
)
