// Refresh throughput: N connections with real refresh tokens (oidc-provider, rotation on) made due at once, timed
// until the broker's scheduler has stored every new token, beside the provider's capacity for the same grant with
// the same concurrency and no broker, measured just before and just after. Both rates are read with one instrument:
// the times at which the provider completed refresh grants. Every refresh must happen exactly once.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type pg from 'pg'
import { mintUsers, type Idp } from '../../test/support/token-fixture.js'
import { ScenarioError } from './load.js'
import { root, type Service } from './services.js'

export interface RefreshFigures {
  concurrency: number
  /** Broker processes refreshing the same connections at once, each with `concurrency` slots. */
  replicas: number
  connections: number
  /** From the moment they were made due to the last new token stored (includes waiting for the next tick). */
  endToEndSeconds: number
  /** From the first to the last refresh grant the provider completed for the broker. */
  activeSeconds: number
  /** Refresh grants per second the provider completed for the broker's scheduler. */
  brokerRate: number
  /** Refresh grants per second without the broker, before and after. */
  providerRates: number[]
  providerRate: number
  ratio: number
  refreshGrants: number
  refreshTokenReuse: number
  grantErrors: number
  /** CPU time of the broker processes per refresh (user + system), all replicas together, once warm. */
  brokerCpuUs: number
  /** The same for the refreshes each row makes first, right after its brokers started (their code not yet compiled). */
  warmupCpuUs?: number
  /** How many connections those first refreshes renewed. */
  warmupConnections?: number
  /** Database statements the brokers sent per refresh (claims, stores, and the background's polls). */
  statementsPerRefresh: number
  /** Scheduler claims that found nothing to refresh, all replicas together (the cost of coordination). */
  emptyClaims: number
  /** CPU time of the process hosting the provider per grant, without and with the broker. */
  providerCpuUs: { direct: number; broker: number }
}

export interface RefreshContext {
  tool: FastifyInstance
  idp: Idp
  pool: pg.Pool
  /** When the provider completed each refresh grant; the bench empties it. */
  grantTimes: number[]
  startBroker(concurrency: number, name?: string): Promise<Service>
}

/** A counter of the broker's /metrics, summed over its labels when `labels` is left out. */
export async function brokerMetric(service: Service, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text()
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}${labels}`) && (labels || /^[^{ ]+(\{[^}]*\})? /.test(line)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
}

interface ClientReport {
  startedAt: number
  endedAt: number
  grants: number
  failed: number
  firstError?: string
}

/** Runs bench/refresh-client.ts in a process of its own against the provider. */
async function providerCapacity(
  { idp, grantTimes }: RefreshContext,
  refreshTokens: string[],
  concurrency: number,
): Promise<{ rate: number; cpuUs: number }> {
  grantTimes.length = 0
  const cpuBefore = process.cpuUsage()
  const client = idp.server.clients[0]
  if (!client) throw new Error('the test provider has no client')
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'refresh-client.ts')], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  child.stdin.end(
    JSON.stringify({
      issuer: idp.server.issuer,
      clientId: client.client_id,
      clientSecret: client.client_secret,
      refreshTokens,
      concurrency,
    }),
  )
  const code = await exited
  if (code !== 0) throw new ScenarioError(`refresh client exited with ${code}`)
  const report = JSON.parse(out) as ClientReport
  if (report.failed > 0)
    throw new ScenarioError(`direct refresh grants failed: ${report.failed} (${report.firstError})`)
  return { rate: rateOf(grantTimes), cpuUs: cpuPer(process.cpuUsage(cpuBefore), refreshTokens.length) }
}

const cpuPer = (usage: NodeJS.CpuUsage, count: number) => (usage.user + usage.system) / count

/** Completions per second between the first and the last. */
function rateOf(times: readonly number[]): number {
  const first = Math.min(...times)
  const last = Math.max(...times)
  return (times.length - 1) / ((last - first) / 1000)
}

/**
 * Makes `ids` due now and waits until each holds a token stored since; when the last was stored. Throws when they are
 * not all refreshed within `timeoutSeconds`.
 */
async function refreshAll(pool: pg.Pool, ids: string[], timeoutSeconds: number): Promise<{ dueAt: Date; last: Date }> {
  const dueAt = new Date()
  await pool.query(`UPDATE connections SET next_refresh_at = $2 WHERE id = ANY($1::uuid[])`, [
    ids,
    new Date(dueAt.getTime() - 1000),
  ])
  const deadline = Date.now() + timeoutSeconds * 1000
  for (;;) {
    const { rows } = await pool.query<{ done: string; last: Date | null }>(
      `SELECT count(*) AS done, max(last_refreshed_at) AS last FROM connections
       WHERE id = ANY($1::uuid[]) AND last_refreshed_at >= $2`,
      [ids, dueAt],
    )
    if (Number(rows[0]?.done) === ids.length) return { dueAt, last: rows[0]?.last as Date }
    if (Date.now() > deadline) {
      throw new ScenarioError(`refresh: ${rows[0]?.done}/${ids.length} refreshed after ${timeoutSeconds} s`)
    }
    await sleep(50)
  }
}

export async function measureRefresh(
  context: RefreshContext,
  {
    connections,
    concurrency,
    timeoutSeconds,
    replicas = 1,
    warmup = Math.ceil(connections / 2),
  }: { connections: number; concurrency: number; timeoutSeconds: number; replicas?: number; warmup?: number },
): Promise<RefreshFigures> {
  const { tool, idp, pool } = context
  const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`)
  const users = await mintUsers(tool, idp, names(`refresh-c${concurrency}`, connections))
  const ids = users.map((user) => user.connectionId)
  // refreshed first, untimed for the ratios: the provider has served since the bench began, the brokers have just
  // started; what a broker costs once it runs is measured after these
  const warm = await mintUsers(tool, idp, names(`warmup-c${concurrency}`, warmup))
  const warmIds = warm.map((user) => user.connectionId)
  // tokens for the direct measurement: minted the same way, then removed from the broker's database
  const direct = await mintUsers(tool, idp, names(`direct-c${concurrency}`, 2 * connections))
  await pool.query('DELETE FROM connections WHERE id = ANY($1::uuid[])', [direct.map((user) => user.connectionId)])
  const directTokens = direct.map((user) => user.refreshToken)

  const brokers = await Promise.all(
    Array.from({ length: replicas }, (_, i) =>
      context.startBroker(concurrency, `broker-c${concurrency}-${replicas}x-${i + 1}`),
    ),
  )
  const total = async (read: (broker: Service) => Promise<number> | number) =>
    (await Promise.all(brokers.map(read))).reduce((sum, value) => sum + value, 0)
  const statements = (broker: Service) => brokerMetric(broker, 'token_broker_database_statements_total')
  const emptyClaims = (broker: Service) =>
    brokerMetric(broker, 'token_broker_scheduler_claims_total', '{result="empty"}')
  try {
    const warmCpuBefore = await total((broker) => broker.cpuSeconds())
    await refreshAll(pool, warmIds, timeoutSeconds)
    const warmupCpuUs = (((await total((broker) => broker.cpuSeconds())) - warmCpuBefore) * 1e6) / warmup
    const before = await providerCapacity(context, directTokens.slice(0, connections), concurrency)

    idp.server.resetStats()
    context.grantTimes.length = 0
    const brokerCpuBefore = await total((broker) => broker.cpuSeconds())
    const statementsBefore = await total(statements)
    const emptyBefore = await total(emptyClaims)
    const providerCpuBefore = process.cpuUsage()
    const { dueAt, last: lastStored } = await refreshAll(pool, ids, timeoutSeconds)
    const brokerCpuUs = (((await total((broker) => broker.cpuSeconds())) - brokerCpuBefore) * 1e6) / connections
    const statementsPerRefresh = ((await total(statements)) - statementsBefore) / connections
    const emptyClaimCount = (await total(emptyClaims)) - emptyBefore
    const providerCpuUs = cpuPer(process.cpuUsage(providerCpuBefore), connections)
    // two more ticks: a duplicate refresh would show up now
    await sleep(2_500)
    const stats = idp.server.stats
    const refreshGrants = stats.tokenRequests.refresh_token
    const brokerGrants = [...context.grantTimes]
    const audited = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM audit_events WHERE action = 'connection.refreshed' AND subject_id = ANY($1::text[])`,
      [ids],
    )
    const problems = [
      refreshGrants !== connections && `${refreshGrants} refresh grants for ${connections} connections`,
      stats.refreshTokenReuse !== 0 && `${stats.refreshTokenReuse} refresh tokens presented twice`,
      stats.grantErrors.length !== 0 && `${stats.grantErrors.length} grant errors at the provider`,
      Number(audited.rows[0]?.n) !== connections && `${audited.rows[0]?.n} audited refreshes`,
    ].filter(Boolean)
    if (problems.length > 0) throw new ScenarioError(`refresh at concurrency ${concurrency}: ${problems.join('; ')}`)

    const after = await providerCapacity(context, directTokens.slice(connections), concurrency)
    const providerRate = (before.rate + after.rate) / 2
    const brokerRate = rateOf(brokerGrants)
    return {
      concurrency,
      replicas,
      connections,
      endToEndSeconds: (lastStored.getTime() - dueAt.getTime()) / 1000,
      activeSeconds: (Math.max(...brokerGrants) - Math.min(...brokerGrants)) / 1000,
      brokerRate,
      providerRates: [before.rate, after.rate],
      providerRate,
      ratio: brokerRate / providerRate,
      refreshGrants,
      refreshTokenReuse: stats.refreshTokenReuse,
      grantErrors: stats.grantErrors.length,
      brokerCpuUs,
      warmupCpuUs,
      warmupConnections: warmup,
      statementsPerRefresh,
      emptyClaims: emptyClaimCount,
      providerCpuUs: { direct: (before.cpuUs + after.cpuUs) / 2, broker: providerCpuUs },
    }
  } finally {
    await Promise.all(brokers.map((broker) => broker.stop()))
    await pool.query('DELETE FROM connections WHERE id = ANY($1::uuid[])', [[...ids, ...warmIds]])
  }
}
