// SIGKILL the broker in the middle of a refresh batch, then start it again. Every connection must still be usable,
// except those whose refresh the provider had already answered (rotating the refresh token) when the process died:
// they are counted by asking the provider about every stored refresh token, and must end reauthorization_required
// (not silently broken). Two rounds: the provider slow before it rotates (the broker's own window), and slow after
// it rotated (the answer is on the wire when the process dies: the window no design closes without the provider).
import { expireConnections } from '../../support/token-fixture.js'
import { createWorld, sleepMs, waitFor, type World } from '../support/world.js'
import { Expectations, seconds, userIds, type Scenario } from '../scenario.js'

const CONNECTIONS = 300
const CONCURRENCY = 8
const PROVIDER_LATENCY_MS = 200
const KILL_AFTER_REFRESHES = 80

interface Round {
  name: string
  lost: number
  leasedAtKill: number
  refreshedBeforeKill: number
  recoveredInMs: number
  usable: number
  reauthorization: number
}

export const crash: Scenario = async ({ log }) => {
  const expect = new Expectations()
  const world = await createWorld({
    name: 'crash',
    authServer: { accessTokenTtl: 3600 },
    broker: { REFRESH_CONCURRENCY: CONCURRENCY, REFRESH_INTERVAL_SECONDS: 1 },
  })
  try {
    const users = (await world.mint(userIds('crash', CONNECTIONS))).map((user) => user.userId)
    const rounds: Round[] = []
    for (const afterProcessing of [false, true]) {
      const name = afterProcessing ? 'answer delayed after rotating' : 'provider slow before rotating'
      log(`round: ${name}`)
      rounds.push(await crashRound(world, users, afterProcessing, name, expect, log))
    }
    const lost = rounds.reduce((sum, round) => sum + round.lost, 0)
    return {
      scenario: 'Crash mid-refresh',
      load: `${CONNECTIONS} connections due at once, ${CONCURRENCY} refreshes in flight, provider ${PROVIDER_LATENCY_MS} ms; SIGKILL after ${KILL_AFTER_REFRESHES} refresh calls, restart; twice`,
      result:
        rounds
          .map(
            (r) =>
              `${r.name}: ${r.lost} rotated but not stored, ${r.usable} usable, ${r.reauthorization} to reauthorize`,
          )
          .join('; ') + `; every other connection usable`,
      figures: rounds
        .flatMap((r) => [
          `${r.name}: stored before the kill ${r.refreshedBeforeKill}`,
          `leases held by the dead process ${r.leasedAtKill}`,
          `all settled ${seconds(r.recoveredInMs)} after the restart`,
        ])
        .concat([`lost in total ${lost} of ${CONNECTIONS}`]),
      failures: expect.failures,
    }
  } finally {
    await world.close()
  }
}

async function crashRound(
  world: World,
  users: string[],
  afterProcessing: boolean,
  name: string,
  expect: Expectations,
  log: (message: string) => void,
): Promise<Round> {
  const { prisma } = world.inspector.deps.db
  const activeBefore = await prisma.connection.count({ where: { status: 'active' } })
  const refreshedBefore = await prisma.auditEvent.count({ where: { action: 'connection.refreshed' } })
  world.server.setTokenFault({ kind: 'hang', ms: PROVIDER_LATENCY_MS, grantType: 'refresh_token', afterProcessing })
  const roundStart = new Date()
  await expireConnections(world.inspector)
  const calls = world.server.stats.tokenRequests.refresh_token
  const reached = await waitFor(
    async () => world.server.stats.tokenRequests.refresh_token - calls >= KILL_AFTER_REFRESHES,
    120_000,
    5,
  )
  expect.that(reached, `${name}: the batch never reached ${KILL_AFTER_REFRESHES} refresh calls`)
  await world.broker.kill('SIGKILL')
  log(`killed after ${world.server.stats.tokenRequests.refresh_token - calls} refresh calls`)
  // the provider finishes what it was doing: a delayed answer goes nowhere
  await sleepMs(PROVIDER_LATENCY_MS * 2)
  world.server.setTokenFault(null)

  const refreshedBeforeKill =
    (await prisma.auditEvent.count({ where: { action: 'connection.refreshed' } })) - refreshedBefore
  const leasedAtKill = await prisma.connection.count({ where: { leaseOwner: { not: null } } })
  const atProvider = await world.refreshTokensAtProvider()
  const active = await prisma.connection.findMany({ where: { status: 'active' }, select: { id: true } })
  const activeIds = new Set(active.map((row) => row.id))
  const lost = atProvider.invalid.filter((id) => activeIds.has(id))
  log(`${lost.length} active connections hold a refresh token the provider no longer accepts`)

  await world.restartBroker()
  const restartedAt = Date.now()
  // the dead process's leases expire (30 s), then its connections are refreshed like the rest
  const settled = await waitFor(async () => {
    const pending = await prisma.connection.count({
      where: { status: 'active', OR: [{ lastRefreshedAt: null }, { lastRefreshedAt: { lt: roundStart } }] },
    })
    return pending === 0
  }, 180_000)
  const recoveredInMs = Date.now() - restartedAt
  expect.that(settled, `${name}: not every connection was refreshed within 180 s of the restart`)

  let usable = 0
  let reauthorization = 0
  const unexpected: string[] = []
  for (const userId of users) {
    const res = await fetch(world.tokenUrl(userId, 5), { headers: world.caller.headers })
    if (res.status === 200) usable += 1
    else if (res.status === 409) reauthorization += 1
    else unexpected.push(`${userId}: ${res.status}`)
  }
  const nowReauthorize = await prisma.connection.findMany({
    where: { status: 'reauthorization_required', id: { in: [...activeIds] } },
    select: { id: true },
  })
  const lostSet = new Set(lost)
  expect.that(unexpected.length === 0, `${name}: unexpected answers ${unexpected.slice(0, 5).join(', ')}`)
  expect.that(
    nowReauthorize.length === lost.length && nowReauthorize.every((row) => lostSet.has(row.id)),
    `${name}: ${nowReauthorize.length} connections left active status, ${lost.length} had lost their token`,
  )
  expect.that(lost.length <= CONCURRENCY, `${name}: ${lost.length} lost, more than the ${CONCURRENCY} in flight`)
  expect.that(usable === activeBefore - lost.length, `${name}: ${usable} usable of ${activeBefore - lost.length}`)
  const stillValid = await world.refreshTokensAtProvider()
  const activeAfter = await prisma.connection.findMany({ where: { status: 'active' }, select: { id: true } })
  const invalidActive = activeAfter.filter((row) => stillValid.invalid.includes(row.id))
  expect.that(invalidActive.length === 0, `${name}: ${invalidActive.length} active connections hold a dead token`)
  return { name, lost: lost.length, leasedAtKill, refreshedBeforeKill, recoveredInMs, usable, reauthorization }
}
