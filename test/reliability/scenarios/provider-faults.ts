// The provider fails: unreachable for a minute (errors, reset connections, no answer), or answering garbage (HTML,
// truncated JSON, a 200 without access_token). Under a steady load of GET /tokens and a running scheduler, no
// connection may leave `active`, the process must not crash, each connection's lastError must say plainly what
// went wrong, and once the provider is back every connection must refresh.
import { readFileSync } from 'node:fs'
import type { TokenFault } from '../../support/auth-server.js'
import { countBy, outcome, percentile, startLoad } from '../support/load.js'
import { createWorld, sleepMs, waitFor, type World } from '../support/world.js'
import { Expectations, millis, userIds, type Scenario, type ScenarioResult } from '../scenario.js'

const CONNECTIONS = 40
const RATE = 20
// a GET may wait for one refresh of its own: the provider timeout (10 s) plus storing it
const ANSWER_BOUND_MS = 20_000
const MARKER = 'GARBAGE-MARKER-7f3a'

interface Phase {
  name: string
  fault: TokenFault
  seconds: number
}

const outagePhases: Phase[] = [
  { name: '503 with Retry-After', fault: { kind: 'status', status: 503, retryAfter: 5 }, seconds: 20 },
  { name: 'connection reset', fault: { kind: 'drop' }, seconds: 20 },
  { name: 'no answer', fault: { kind: 'hang' }, seconds: 20 },
]

const garbagePhases: Phase[] = [
  {
    name: 'HTML 200',
    fault: {
      kind: 'garbage',
      status: 200,
      contentType: 'text/html',
      body: `<html><body>${MARKER} maintenance</body></html>`,
    },
    seconds: 12,
  },
  {
    name: 'HTML 502',
    fault: { kind: 'garbage', status: 502, contentType: 'text/html', body: `<h1>Bad gateway</h1>${MARKER}` },
    seconds: 12,
  },
  {
    name: 'truncated JSON',
    fault: {
      kind: 'garbage',
      status: 200,
      contentType: 'application/json',
      body: `{"access_token":"${MARKER}","token_type":"Bearer","refresh_tok`,
    },
    seconds: 12,
  },
  {
    name: '200 without access_token',
    fault: {
      kind: 'garbage',
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ token_type: 'Bearer', expires_in: 3600, refresh_token: MARKER }),
    },
    seconds: 12,
  },
  {
    name: 'JSON array',
    fault: { kind: 'garbage', status: 200, contentType: 'application/json', body: `["${MARKER}"]` },
    seconds: 12,
  },
]

// what lastError must say: an outage is not garbage, and garbage is not an outage
export const providerOutage: Scenario = (context) =>
  providerFaults(
    context,
    'Provider outage',
    'provider-outage',
    outagePhases,
    /answered HTTP 503|could not reach|did not answer/,
  )

export const providerGarbage: Scenario = (context) =>
  providerFaults(
    context,
    'Provider garbage',
    'provider-garbage',
    garbagePhases,
    /malformed|invalid response|answered HTTP 502/,
  )

async function providerFaults(
  { log }: { log: (message: string) => void },
  scenario: string,
  name: string,
  phases: Phase[],
  expectedError: RegExp,
): Promise<ScenarioResult> {
  const expect = new Expectations()
  const world = await createWorld({ name, authServer: { accessTokenTtl: 20 } })
  try {
    const users = (await world.mint(userIds(name, CONNECTIONS))).map((user) => user.userId)
    let next = 0
    const load = startLoad({
      rate: RATE,
      next: () => {
        const index = next++
        const user = users[index % users.length] as string
        // half the reads need 10 s left (half the token lifetime): those refresh on demand
        return {
          label: user,
          url: world.tokenUrl(user, index % 2 === 0 ? 5 : 60),
          init: { headers: world.caller.headers },
        }
      },
    })
    await sleepMs(15_000)
    const faultAt = Date.now()
    for (const phase of phases) {
      log(`provider: ${phase.name} for ${phase.seconds} s`)
      world.server.setTokenFault({ ...phase.fault, grantType: 'refresh_token' })
      await sleepMs(phase.seconds * 1000)
    }
    world.server.setTokenFault(null)
    const healedAt = Date.now()
    log('provider healthy again')
    await sleepMs(10_000)
    const samples = await load.stop()
    const faulty = samples.filter((s) => s.startedAt >= faultAt && s.startedAt < healedAt)
    const latencies = faulty.map((s) => s.latencyMs)
    const unexpected = samples.filter(
      (s) => s.status !== 200 && !(s.status === 503 && s.error === 'provider_unavailable'),
    )

    const { prisma } = world.inspector.deps.db
    const rows = await prisma.connection.findMany({
      select: { id: true, status: true, lastError: true, failureCount: true },
    })
    const failedAudits = await prisma.auditEvent.findMany({
      where: { action: 'connection.refresh_failed' },
      select: { detail: true },
    })
    const errors = [...new Set(failedAudits.map((a) => String((a.detail as { error?: string }).error)))]
    const unclear = errors.filter((e) => !isClearError(e) || !expectedError.test(e))
    expect.that(
      rows.every((row) => row.status === 'active'),
      `statuses ${JSON.stringify(countBy(rows, (r) => r.status))}`,
    )
    expect.that(world.broker.alive(), 'the broker process died')
    expect.that(
      unexpected.length === 0,
      `answers other than 200 and 503 provider_unavailable: ${JSON.stringify(countBy(unexpected, outcome))}`,
    )
    expect.that(Math.max(0, ...latencies) <= ANSWER_BOUND_MS, `slowest answer ${millis(Math.max(0, ...latencies))}`)
    expect.that(errors.length > 0, 'no refresh failure was recorded')
    expect.that(unclear.length === 0, `unclear lastError: ${unclear.join(' | ')}`)
    // the whole log: the failed refreshes are logged as warnings, not errors
    const logText = readFileSync(world.broker.logFile, 'utf8')
    expect.that(logText.includes('refresh failed: '), 'the failed refreshes were not logged')
    expect.that(!logText.includes(MARKER), 'a provider response body reached the logs')
    expect.that(!errors.some((e) => e.includes(MARKER)), 'a provider response body reached lastError')

    // afterwards: connections come back by themselves (backoff), and an admin refresh brings back the rest
    const recoveredAlone = await countRecovered(world, healedAt, 60_000)
    const forced = await refreshAll(world)
    expect.that(forced.failed === 0, `${forced.failed} connections failed an admin refresh after the provider healed`)
    const served = await Promise.all(
      users.map((user) => fetch(world.tokenUrl(user, 5), { headers: world.caller.headers })),
    )
    const notServed = served.filter((res) => res.status !== 200).length
    expect.that(notServed === 0, `${notServed} connections not served after recovery`)

    return {
      scenario,
      load: `${RATE} GET /tokens/s over ${CONNECTIONS} connections (20 s tokens, scheduler every 2 s); provider ${phases
        .map((p) => `${p.name} ${p.seconds} s`)
        .join(', ')}`,
      result:
        `${rows.filter((r) => r.status === 'active').length}/${CONNECTIONS} active throughout; answers ${JSON.stringify(countBy(faulty, outcome))}; ` +
        `${recoveredAlone}/${CONNECTIONS} recovered by backoff within 60 s, the rest on admin refresh`,
      figures: [
        `answer p50 ${millis(percentile(latencies, 50))}`,
        `p99 ${millis(percentile(latencies, 99))}`,
        `max ${millis(Math.max(0, ...latencies))}`,
        `most failures in a row ${Math.max(0, ...rows.map((r) => r.failureCount))}`,
        `lastError values: ${errors.join(' / ')}`,
      ],
      failures: expect.failures,
    }
  } finally {
    await world.close()
  }
}

/** A message fit for an operator: short, one line, naming what failed, no object dumps or response bodies. */
function isClearError(message: string): boolean {
  return (
    message.length > 0 &&
    message.length <= 200 &&
    !/[\n\r]|\[object|undefined|null|at .*\(/.test(message) &&
    /provider|reach|answer|time|malformed|invalid/i.test(message)
  )
}

async function countRecovered(world: World, since: number, withinMs: number): Promise<number> {
  const { prisma } = world.inspector.deps.db
  let recovered = 0
  await waitFor(
    async () => {
      recovered = await prisma.connection.count({
        where: { lastRefreshedAt: { gte: new Date(since) }, failureCount: 0 },
      })
      return recovered === CONNECTIONS
    },
    withinMs,
    2000,
  )
  return recovered
}

async function refreshAll(world: World): Promise<{ failed: number }> {
  const rows = await world.inspector.deps.db.prisma.connection.findMany({ select: { id: true } })
  let failed = 0
  for (const row of rows) {
    const res = await fetch(`${world.broker.url}/admin/connections/${row.id}/refresh`, {
      method: 'POST',
      headers: world.adminHeaders,
    })
    if (res.status !== 200) failed += 1
  }
  return { failed }
}
