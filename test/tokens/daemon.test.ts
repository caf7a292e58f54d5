import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build } from '../helper.js'
import { expireConnections, mintUsers, startIdp, storedRefreshTokens } from '../support/token-fixture.js'

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(20)
  }
}

t.test('the daemon ticks on its own; closing the app finishes its refreshes and releases their leases', async (t) => {
  const { app, db } = await build(t, { config: { REFRESH_INTERVAL_SECONDS: 1 } })
  t.ok(app.scheduler.running, 'started with the app')
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const users = await mintUsers(app, idp, ['u0', 'u1'])
  const before = await storedRefreshTokens(app)
  idp.server.setTokenFault({ kind: 'hang', ms: 1000, grantType: 'refresh_token' })
  await expireConnections(app)

  await until(() => idp.server.stats.tokenRequests.refresh_token === users.length)
  const closing = Date.now()
  await app.close()
  t.ok(Date.now() - closing >= 500, 'close waited for the refreshes in flight')
  t.notOk(app.scheduler.running, 'stopped')

  const rows = await db.prisma.connection.findMany()
  t.ok(
    rows.every((row) => row.leaseOwner === null && row.failureCount === 0 && row.lastRefreshedAt),
    'refreshed, leases released',
  )
  const after = await storedRefreshTokens(app)
  t.ok(
    users.every(({ connectionId: id }) => after.get(id) && after.get(id) !== before.get(id)),
    'the rotated refresh tokens are stored',
  )
  t.equal(idp.server.stats.tokenRequests.refresh_token, users.length, 'no further tick after the stop')
  t.equal(idp.server.stats.refreshTokenReuse, 0)
})
