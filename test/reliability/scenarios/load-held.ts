// Mixed load held for --minutes (default 10): token reads, new authorization flows through the real provider, and
// refreshes every few seconds. Resident memory of the broker must stay flat after warm-up (no more than 10% growth)
// and nothing may fail.
import { browserGet, openStartLink } from '../../support/flow.js'
import { countBy, outcome, percentile, startLoad } from '../support/load.js'
import { createWorld, RETURN_PREFIX, sleepMs, type World } from '../support/world.js'
import { Expectations, mebibytes, millis, seconds, userIds, type Scenario } from '../scenario.js'

const CONNECTIONS = 100
const READ_RATE = 30
const FLOW_EVERY_MS = 4_000
const FLOW_USERS = 20
const MEMORY_EVERY_MS = 5_000
const MAX_GROWTH = 0.1

export const loadHeld: Scenario = async ({ minutes, log }) => {
  const expect = new Expectations()
  const durationMs = minutes * 60_000
  const warmUpMs = Math.min(120_000, durationMs / 4)
  const world = await createWorld({ name: 'load', authServer: { accessTokenTtl: 20 } })
  try {
    const users = (await world.mint(userIds('load', CONNECTIONS))).map((user) => user.userId)
    let next = 0
    const reads = startLoad({
      rate: READ_RATE,
      next: () => {
        const index = next++
        const user = users[index % users.length] as string
        // one read in ten needs half the token lifetime left, and so refreshes on demand now and then
        return {
          label: 'read',
          url: world.tokenUrl(user, index % 10 === 0 ? 60 : 5),
          init: { headers: world.caller.headers },
        }
      },
    })
    const started = Date.now()
    const memory: Array<{ at: number; rss: number }> = []
    const flows = { ok: 0, failed: 0, latencies: [] as number[] }
    const stop = new AbortController()
    const sampler = (async () => {
      while (!stop.signal.aborted) {
        memory.push({ at: Date.now() - started, rss: world.broker.rss() })
        await sleepMs(MEMORY_EVERY_MS)
      }
    })()
    const flowLoop = (async () => {
      let count = 0
      while (!stop.signal.aborted) {
        const flowStarted = Date.now()
        // repeat consents of a fixed set of users: the data stays the same size, so memory should too
        const ok = await runFlow(world, `flow-${count++ % FLOW_USERS}`).catch(() => false)
        flows.latencies.push(Date.now() - flowStarted)
        if (ok) flows.ok += 1
        else flows.failed += 1
        await sleepMs(Math.max(0, FLOW_EVERY_MS - (Date.now() - flowStarted)))
      }
    })()
    for (let elapsed = 0; elapsed < durationMs; elapsed += 60_000) {
      await sleepMs(Math.min(60_000, durationMs - elapsed))
      const rss = memory.at(-1)?.rss ?? 0
      log(`${seconds(Date.now() - started)}: rss ${mebibytes(rss)}, ${reads.samples.length} reads, ${flows.ok} flows`)
    }
    stop.abort()
    await Promise.all([sampler, flowLoop])
    const samples = await reads.stop()

    const { prisma } = world.inspector.deps.db
    const refreshes = await prisma.auditEvent.count({ where: { action: 'connection.refreshed' } })
    const failedRefreshes = await prisma.auditEvent.count({
      where: { action: { in: ['connection.refresh_failed', 'connection.reauthorization_required'] } },
    })
    const afterWarmUp = memory.filter((m) => m.at >= warmUpMs)
    const window = Math.max(1, Math.round(60_000 / MEMORY_EVERY_MS))
    const baseline = median(afterWarmUp.slice(0, window).map((m) => m.rss))
    const final = median(afterWarmUp.slice(-window).map((m) => m.rss))
    const peak = Math.max(...afterWarmUp.map((m) => m.rss))
    const growth = (final - baseline) / baseline
    const failedReads = samples.filter((s) => s.status !== 200)
    const latencies = samples.map((s) => s.latencyMs)
    const errorLines = world.broker.errorLines()

    expect.that(growth <= MAX_GROWTH, `resident memory grew ${(growth * 100).toFixed(1)}% after warm-up`)
    expect.that(failedReads.length === 0, `failed reads: ${JSON.stringify(countBy(failedReads, outcome))}`)
    expect.that(flows.failed === 0, `${flows.failed} flows did not connect`)
    expect.that(failedRefreshes === 0, `${failedRefreshes} refreshes failed`)
    expect.that(
      errorLines.length === 0,
      `${errorLines.length} error log lines, first: ${JSON.stringify(errorLines[0] ?? {}).slice(0, 300)}`,
    )
    expect.that(world.broker.alive(), 'the broker process died')

    return {
      scenario: 'Load held',
      load: `${minutes} min: ${READ_RATE} GET /tokens/s over ${CONNECTIONS} connections (20 s tokens, scheduler every 2 s), a full authorization flow every ${FLOW_EVERY_MS / 1000} s`,
      result: `${samples.length} reads, ${failedReads.length} failed; ${flows.ok} flows connected, ${flows.failed} failed; ${refreshes} refreshes, ${failedRefreshes} failed; rss ${mebibytes(baseline)} → ${mebibytes(final)} (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%) after ${seconds(warmUpMs)} warm-up`,
      figures: [
        `read p50 ${millis(percentile(latencies, 50))}`,
        `read p99 ${millis(percentile(latencies, 99))}`,
        `read max ${millis(Math.max(0, ...latencies))}`,
        `flow p50 ${millis(percentile(flows.latencies, 50))}`,
        `refreshes per second ${(refreshes / (durationMs / 1000)).toFixed(1)}`,
        `rss peak ${mebibytes(peak)}`,
        `error log lines ${errorLines.length}`,
      ],
      failures: expect.failures,
    }
  } finally {
    await world.close()
  }
}

function median(values: number[]): number {
  return percentile(values, 50)
}

async function runFlow(world: World, userId: string): Promise<boolean> {
  const res = await fetch(`${world.broker.url}/authorizations`, {
    method: 'POST',
    headers: { ...world.caller.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'idp', userId, returnTo: `${RETURN_PREFIX}done` }),
  })
  if (res.status !== 201) return false
  const { url } = (await res.json()) as { url: string }
  const { providerUrl, cookie } = await openStartLink(url)
  const callbackUrl = await world.server.authorize(providerUrl, { login: userId })
  const callback = await browserGet(callbackUrl, cookie)
  return callback.status === 302 && callback.location?.searchParams.get('status') === 'connected'
}
