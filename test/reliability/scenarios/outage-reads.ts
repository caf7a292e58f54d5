// Postgres goes away for OUTAGE_MS while callers keep reading connections they read in the minute before, with
// hour-long tokens: every one of those reads must still be served. Connections never read before must get 503, and a
// key revoked before the outage 401, throughout.
import { countBy, outcome, percentile, startLoad, type Sample } from '../support/load.js'
import { createWorld, PROVIDER_ID, sleepMs } from '../support/world.js'
import { Expectations, millis, seconds, userIds, type Scenario } from '../scenario.js'

const CONNECTIONS = 50
const NEVER_READ = 5
const RATE = 40
const PROBE_RATE = 2
// each 401 counts against the address's failed authentications (20 a minute): a few suffice
const REVOKED_PROBES = 5
const WARM_UP_MS = 15_000
const OUTAGE_MS = 20_000
const AFTER_MS = 10_000
const RECOVERY_BOUND_MS = 5_000

export const outageReads: Scenario = async ({ log }) => {
  const expect = new Expectations()
  const world = await createWorld({
    name: 'outage-reads',
    authServer: { accessTokenTtl: 3600 },
    broker: { LOG_LEVEL: process.env.BROKER_LOG_LEVEL ?? 'warn' },
  })
  try {
    const users = (await world.mint(userIds('read', CONNECTIONS))).map((user) => user.userId)
    const unread = (await world.mint(userIds('unread', NEVER_READ))).map((user) => user.userId)
    const revokedHeaders = await revokedCaller(world.broker.url, world.adminHeaders, world.tokenUrl(users[0] ?? ''))

    let next = 0
    const load = startLoad({
      rate: RATE,
      timeoutMs: 30_000,
      next: () => {
        const user = users[next++ % users.length] as string
        return { label: user, url: world.tokenUrl(user), init: { headers: world.caller.headers } }
      },
    })
    log(`reading ${CONNECTIONS} connections for ${seconds(WARM_UP_MS)}`)
    await sleepMs(WARM_UP_MS)
    const downAt = Date.now()
    await world.postgres.stop('fast')
    log(`database stopped; outage of ${seconds(OUTAGE_MS)}`)
    // only now: a connection read before the outage would be served
    let probe = 0
    const probes = startLoad({
      rate: PROBE_RATE,
      timeoutMs: 30_000,
      next: () => {
        const user = unread[probe++ % NEVER_READ] as string
        return { label: user, url: world.tokenUrl(user), init: { headers: world.caller.headers } }
      },
    })
    const revokedAnswers: Record<string, number> = {}
    for (let i = 0; i < REVOKED_PROBES; i++) {
      await sleepMs(OUTAGE_MS / (REVOKED_PROBES + 1))
      const res = await fetch(world.tokenUrl(users[0] as string), { headers: revokedHeaders })
      const answer = `${res.status} ${((await res.json()) as { error?: string }).error ?? ''}`.trim()
      revokedAnswers[answer] = (revokedAnswers[answer] ?? 0) + 1
    }
    await sleepMs(Math.max(0, downAt + OUTAGE_MS - Date.now()))
    const probed = await probes.stop()
    await world.postgres.start()
    const upAt = Date.now()
    log('database started again')
    await sleepMs(AFTER_MS)
    const samples = await load.stop()

    const ended = (sample: Sample) => sample.startedAt + sample.latencyMs
    const during = (s: Sample) => s.startedAt >= downAt && s.startedAt < upAt
    const before = samples.filter((s) => ended(s) < downAt)
    const reads = samples.filter(during)
    const failed = reads.filter((s) => s.status !== 200)
    const after = samples.filter((s) => s.startedAt >= upAt)
    const failedAfter = after.filter((s) => s.status !== 200)
    const lastFailure = failedAfter.reduce((max, s) => Math.max(max, ended(s) - upAt), 0)
    const latency = reads.map((s) => s.latencyMs)
    const unreadAnswers = countBy(probed.filter(during), outcome)

    expect.that(
      before.every((s) => s.status === 200),
      `before the outage: ${JSON.stringify(countBy(before, outcome))}`,
    )
    expect.that(failed.length === 0, `reads failed during the outage: ${JSON.stringify(countBy(failed, outcome))}`)
    expect.that(
      Object.keys(unreadAnswers).every((k) => k === '503 service_unavailable'),
      `connections never read, during the outage: ${JSON.stringify(unreadAnswers)}`,
    )
    expect.that(
      Object.keys(revokedAnswers).every((k) => k === '401 unauthorized'),
      `the revoked key: ${JSON.stringify(revokedAnswers)}`,
    )
    expect.that(lastFailure <= RECOVERY_BOUND_MS, `last failure ${millis(lastFailure)} after the database returned`)
    expect.that(world.broker.alive(), 'the broker process died')

    return {
      scenario: 'Database outage, connections read before',
      load: `${RATE} GET /tokens/s over ${CONNECTIONS} connections read in the ${seconds(WARM_UP_MS)} before (1 h tokens, default minTtl), ${PROBE_RATE}/s for ${NEVER_READ} never read, ${REVOKED_PROBES} with a key revoked before; Postgres stopped ${seconds(OUTAGE_MS)}`,
      result: `${reads.length - failed.length}/${reads.length} reads served during the outage; never read: ${JSON.stringify(unreadAnswers)}; revoked key: ${JSON.stringify(revokedAnswers)}`,
      figures: [
        `database outage: reads failed for cached connections ${failed.length}`,
        `outage p50 ${millis(percentile(latency, 50))}`,
        `outage p99 ${millis(percentile(latency, 99))}`,
        `outage max ${millis(Math.max(0, ...latency))}`,
        `failures after return ${failedAfter.length}`,
        `error log lines ${world.broker.errorLines().length}`,
      ],
      failures: expect.failures,
    }
  } finally {
    await world.close()
  }
}

/** A caller that read a token once, then was revoked through the admin API: its authorization header. */
async function revokedCaller(brokerUrl: string, adminHeaders: { authorization: string }, tokenUrl: string) {
  const res = await fetch(`${brokerUrl}/admin/clients`, {
    method: 'POST',
    headers: { ...adminHeaders, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'revoked-before', allowedProviders: [PROVIDER_ID] }),
  })
  const { id, apiKey } = (await res.json()) as { id: string; apiKey: string }
  const headers = { authorization: `Bearer ${apiKey}` }
  const read = await fetch(tokenUrl, { headers })
  if (read.status !== 200) throw new Error(`the caller to revoke read ${read.status}`)
  const revoked = await fetch(`${brokerUrl}/admin/clients/${id}`, { method: 'DELETE', headers: adminHeaders })
  if (revoked.status !== 204) throw new Error(`revoking answered ${revoked.status}`)
  return headers
}
