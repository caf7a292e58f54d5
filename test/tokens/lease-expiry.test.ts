import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build } from '../helper.js'
import { expireConnections, mintUsers, startIdp, storedRefreshTokens } from '../support/token-fixture.js'

const instanceScript = fileURLToPath(new URL('../support/refresh-instance.ts', import.meta.url))
const LEASE_SECONDS = 30

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(50)
  }
}

t.test('an instance killed while holding leases: another refreshes them once the leases expire', async (t) => {
  // this instance's clock jumps past the dead one's leases instead of the test waiting for them
  let offsetMs = 0
  const { app, db } = await build(t, {
    background: false,
    instanceId: 'survivor',
    now: () => new Date(Date.now() + offsetMs),
  })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const users = await mintUsers(app, idp, ['u0', 'u1', 'u2', 'u3', 'u4'])
  await expireConnections(app)
  const before = await storedRefreshTokens(app)
  const { prisma } = app.deps.db

  // the provider holds every refresh request, so the other instance dies with its leases taken and nothing stored
  idp.server.setTokenFault({ kind: 'hang', grantType: 'refresh_token' })
  const doomed = spawn(process.execPath, ['--import', 'tsx', instanceScript], {
    env: { ...process.env, CHILD_DATABASE_URL: db.url, INSTANCE_ID: 'doomed', LEASE_SECONDS: String(LEASE_SECONDS) },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  t.teardown(() => doomed.kill('SIGKILL'))
  await until(
    async () =>
      idp.server.stats.tokenRequests.refresh_token === users.length &&
      (await prisma.connection.count({ where: { leaseOwner: { startsWith: 'doomed/' } } })) === users.length,
  )
  doomed.kill('SIGKILL')
  await once(doomed, 'exit')
  idp.server.setTokenFault(null)

  const early = await app.scheduler.tick()
  t.equal(early.claimed, 0, 'the dead instance’s leases are respected until they expire')

  offsetMs = (LEASE_SECONDS + 1) * 1000
  const report = await app.scheduler.tick()
  t.equal(report.claimed, users.length)
  t.equal(report.refreshed, users.length, 'picked up and refreshed after lease expiry')
  t.equal(idp.server.stats.refreshTokenReuse, 0, 'the killed requests never consumed a refresh token')
  const rows = await prisma.connection.findMany()
  t.ok(rows.every((row) => row.status === 'active' && row.leaseOwner === null && row.failureCount === 0))
  const after = await storedRefreshTokens(app)
  t.ok(
    users.every(({ connectionId: id }) => after.get(id) && after.get(id) !== before.get(id)),
    'rotated and stored',
  )
})
