// The scheduler claims a connection at the moment a request of the same process starts refreshing it: the request
// must not wait for the scheduler's lease while the scheduler waits for the request.
import t from 'tap'
import { claimDueConnections } from '../../src/db/connections/index.js'
import { build } from '../helper.js'
import { expireConnections, mintUsers, startIdp } from '../support/token-fixture.js'

t.test("a request's refresh and the scheduler's claim of the same connection: one refresh, no deadlock", async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600, rotateRefreshToken: true })
  const [bob] = await mintUsers(app, idp, ['bob'])
  if (!bob) throw new Error('no connection')
  await expireConnections(app, [bob.connectionId])
  const { prisma } = app.deps.db
  const { refresher } = app.services

  // the scheduler's claim lands first; the request's refresh starts before the scheduler hands the row over
  const now = app.deps.now()
  const owner = 'scheduler-of-this-instance'
  const claimed = await claimDueConnections(app.deps.db, {
    owner,
    now,
    until: new Date(now.getTime() + 60_000),
    limit: 10,
    exclude: [],
  })
  t.same(
    claimed.map((row) => row.id),
    [bob.connectionId],
  )
  const onDemand = refresher.refresh(bob.connectionId, {
    need: { kind: 'minTtl', seconds: 60 },
    trigger: 'on_demand',
    actor: 'system',
    waitMs: 30_000,
  })
  const scheduled = refresher.refresh(bob.connectionId, {
    need: { kind: 'due' },
    trigger: 'scheduler',
    actor: 'system',
    claimed: { row: claimed[0] as (typeof claimed)[number], owner },
  })
  const [request, scheduler] = await Promise.all([onDemand, scheduled])
  t.equal(request.kind, 'refreshed', 'the request refreshed instead of waiting out the wait')
  t.equal(scheduler.kind, 'refreshed', 'the scheduler shares that outcome')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'one call to the provider')
  const row = await prisma.connection.findUniqueOrThrow({ where: { id: bob.connectionId } })
  t.equal(row.leaseOwner, null, 'no lease left behind')
})
