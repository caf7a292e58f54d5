// Two teams on one broker: callers in two namespaces, the same provider and the same userId. Each connects its own
// account and sees only its own connection; another namespace's connection is indistinguishable from a missing one,
// for reads, disconnects, flows and webhooks. Callers of one namespace share its connections.
import t from 'tap'
import { startReceiver } from '../webhooks/receiver.js'
import { createCaller, type TestCaller } from '../support/fixtures.js'
import { connectUser, startFlowEnv } from '../support/flow.js'

const env = await startFlowEnv(t, { app: { background: false } })
const { app } = env
const allowed = { allowedProviders: [env.providerId], allowedReturnTo: [new URL('/', env.returnTo).href] }
const teamA = await createCaller(app, { name: 'team-a', namespace: 'team-a', ...allowed })
const teamB = await createCaller(app, { name: 'team-b', namespace: 'team-b', ...allowed })
const teamA2 = await createCaller(app, { name: 'team-a-worker', namespace: 'team-a', ...allowed })

const token = async (caller: TestCaller, userId = 'bob') =>
  app.inject({ url: `/tokens/${userId}?provider=${env.providerId}`, headers: caller.headers })
const accountOf = async (accessToken: string) => (await env.server.introspect(accessToken)).sub

const receivers = { a: await startReceiver(), b: await startReceiver() }
t.teardown(() => Promise.all([receivers.a.close(), receivers.b.close()]))
for (const [caller, receiver] of [
  [teamA, receivers.a],
  [teamB, receivers.b],
] as const) {
  const res = await app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: caller.headers,
    payload: { url: receiver.url },
  })
  if (res.statusCode !== 201) throw new Error(`${caller.namespace}: webhook registration answered ${res.statusCode}`)
}
const eventsOf = (receiver: typeof receivers.a) =>
  receiver.received.map((request) => JSON.parse(request.body) as { type: string; data: Record<string, unknown> })

t.test('each namespace connects its own account for the same userId and reads only its own token', async (t) => {
  const a = await connectUser(env, { userId: 'bob', caller: teamA, authorize: { login: 'bob-of-team-a' } })
  const b = await connectUser(env, { userId: 'bob', caller: teamB, authorize: { login: 'bob-of-team-b' } })
  t.not(a.connection.id, b.connection.id, 'two connections')
  t.same([a.connection.namespace, b.connection.namespace], ['team-a', 'team-b'])
  t.same([a.connection.subject, b.connection.subject], ['bob-of-team-a', 'bob-of-team-b'])

  const forA = await token(teamA)
  const forB = await token(teamB)
  t.equal(forA.statusCode, 200)
  t.equal(forB.statusCode, 200)
  t.not(forA.json().accessToken, forB.json().accessToken)
  t.equal(await accountOf(forA.json().accessToken), 'bob-of-team-a', "team A gets its own account's token")
  t.equal(await accountOf(forB.json().accessToken), 'bob-of-team-b', "team B gets its own account's token")
  const forA2 = await token(teamA2)
  t.equal(forA2.json().accessToken, forA.json().accessToken, 'callers of one namespace share its connection')

  t.equal((await token(teamB, 'alice')).statusCode, 404, 'nobody connected alice')
  await connectUser(env, { userId: 'alice', caller: teamA, authorize: { login: 'alice-of-team-a' } })
  const aliceForB = await token(teamB, 'alice')
  t.equal(aliceForB.statusCode, 404, "another namespace's connection is a plain 404")
  t.same(aliceForB.json(), (await token(teamB, 'nobody')).json(), 'indistinguishable from a missing one')
})

t.test('webhooks: each namespace hears of its own connections only', async (t) => {
  await app.webhookSender.deliverDue()
  const a = eventsOf(receivers.a)
  const b = eventsOf(receivers.b)
  t.ok(a.length >= 2, `team A heard ${a.length} events`)
  t.ok(b.length >= 1, `team B heard ${b.length} events`)
  t.ok(
    a.every((event) => event.data.namespace === 'team-a'),
    'team A: only team-a connections',
  )
  t.ok(
    b.every((event) => event.data.namespace === 'team-b'),
    'team B: only team-b connections',
  )
  t.notOk(
    b.some((event) => event.data.userId === 'alice'),
    "team B never hears of team A's alice",
  )
})

t.test("a flow of one namespace replaces its own connection, never the other's", async (t) => {
  const before = (await token(teamB)).json().accessToken
  const again = await connectUser(env, { userId: 'bob', caller: teamA, authorize: { login: 'bob-of-team-a' } })
  t.equal(again.connection.namespace, 'team-a')
  const after = await token(teamB)
  t.equal(after.json().accessToken, before, "team B's bob is untouched")
  t.equal((await env.server.introspect(before)).active, true, "and team B's token still works at the provider")
})

t.test('a disconnect reaches its own namespace only', async (t) => {
  const otherTeam = await app.inject({
    method: 'DELETE',
    url: `/connections/${env.providerId}/alice`,
    headers: teamB.headers,
  })
  t.equal(otherTeam.statusCode, 404, "team B cannot disconnect team A's alice")
  t.equal((await token(teamA, 'alice')).statusCode, 200, 'she is still connected')

  const bTokenBefore = (await token(teamB)).json().accessToken
  await app.webhookSender.deliverDue()
  receivers.a.received.length = 0
  receivers.b.received.length = 0
  const own = await app.inject({ method: 'DELETE', url: `/connections/${env.providerId}/bob`, headers: teamA.headers })
  t.equal(own.statusCode, 204)
  t.equal((await token(teamA)).statusCode, 404, "team A's bob is gone")
  t.equal((await token(teamA2)).statusCode, 404, 'for every caller of team A')
  const bAfter = await token(teamB)
  t.equal(bAfter.statusCode, 200, "team B's bob stays")
  t.equal(bAfter.json().accessToken, bTokenBefore)

  await app.webhookSender.deliverDue()
  t.same(
    eventsOf(receivers.a).map((event) => event.type),
    ['connection.revoked'],
    'team A hears of its disconnect',
  )
  t.same(eventsOf(receivers.b), [], 'team B hears nothing of it')
})

t.test('the admin sees every namespace, and filters by one', async (t) => {
  const admin = { authorization: `Bearer ${env.config.ADMIN_TOKEN}` }
  const all = await app.inject({ url: '/admin/connections', headers: admin })
  const namespaces = new Set((all.json().items as { namespace: string }[]).map((item) => item.namespace))
  t.same([...namespaces].sort(), ['team-a', 'team-b'])
  const onlyB = await app.inject({ url: '/admin/connections?namespace=team-b', headers: admin })
  t.same(
    (onlyB.json().items as { namespace: string; userId: string }[]).map((item) => [item.namespace, item.userId]),
    [['team-b', 'bob']],
  )
  const audit = await app.inject({ url: '/admin/audit?limit=500', headers: admin })
  const created = (audit.json().items as { action: string; namespace: string | null }[]).filter(
    (event) => event.action === 'connection.created',
  )
  t.ok(created.length >= 4, 'the flows are audited')
  t.ok(
    created.every((event) => event.namespace === 'team-a' || event.namespace === 'team-b'),
    'with their namespace',
  )
  const callers = await app.inject({ url: '/admin/clients', headers: admin })
  t.same((callers.json().items as { name: string; namespace: string }[]).map((c) => [c.name, c.namespace]).sort(), [
    ['team-a', 'team-a'],
    ['team-a-worker', 'team-a'],
    ['team-b', 'team-b'],
    ['test-caller', 'default'],
  ])
})

t.test('a namespace is a slug', async (t) => {
  const admin = { authorization: `Bearer ${env.config.ADMIN_TOKEN}` }
  for (const namespace of ['', 'Team', 'a b', '-a', 'x'.repeat(64), 'ü']) {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/clients',
      headers: admin,
      payload: { name: 'x', namespace },
    })
    t.equal(res.statusCode, 400, JSON.stringify(namespace))
  }
})
