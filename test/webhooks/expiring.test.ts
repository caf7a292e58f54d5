// connection.expiring: a provider whose refresh tokens live 10 days, the warning window at its default (7 days), a
// clock the test moves. Each refresh token is warned of once; a rotation or a reconnect starts its lifetime again.
import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, connectUser, startFlowEnv } from '../support/flow.js'
import { startReceiver } from './receiver.js'

const DAY = 86_400_000

t.test('connection.expiring once per refresh token, within the window, not again after a reconnect', async (t) => {
  let clock = Date.now()
  const env = await startFlowEnv(t, {
    app: { background: false, now: () => new Date(clock) },
    // access tokens outlive the test's days: no refresh rotates the refresh token behind its back
    authServer: { accessTokenTtl: 60 * 86_400 },
    providers: [{ id: 'idp', extra: { refreshTokenLifetimeSeconds: 10 * 86_400 } }],
  })
  const { app } = env
  t.equal(app.deps.config.EXPIRY_WARNING_SECONDS, 604_800, 'the default window is 7 days')
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  await app.inject({ method: 'PUT', url: '/webhook', headers: env.caller.headers, payload: { url: receiver.url } })
  let seen = 0
  const expiring = async () => {
    await app.scheduler.tick()
    await app.webhookSender.deliverDue()
    const fresh = receiver.received.slice(seen).map((request) => JSON.parse(request.body))
    seen = receiver.received.length
    return fresh.filter((event) => event.type !== 'connection.created').map((event) => [event.type, event.data])
  }
  const view = async (id: string) =>
    (await app.inject({ url: `/admin/connections/${id}`, headers: adminHeaders })).json()

  const { connection: alice } = await connectUser(env, { userId: 'alice' })
  const aliceExpiry = new Date(clock + 10 * DAY).toISOString()
  t.equal((await view(alice.id)).refreshTokenExpiresAt, aliceExpiry, 'the template rule, shown to the admin')
  t.same(await expiring(), [], 'ten days ahead: outside the window')

  clock += 4 * DAY
  const { connection: bob } = await connectUser(env, { userId: 'bob' })
  const bobExpiry = new Date(clock + 10 * DAY).toISOString()
  const data = { connectionId: alice.id, namespace: 'default', provider: 'idp', userId: 'alice', status: 'active' }
  t.same(await expiring(), [['connection.expiring', { ...data, expiresAt: aliceExpiry }]], 'six days ahead: warned')
  t.same(await expiring(), [], 'once')
  clock += DAY
  t.same(await expiring(), [], 'still once a day later')
  const audit = await app.deps.db.prisma.auditEvent.findMany({ where: { action: 'connection.expiring' } })
  t.match(audit, [{ subjectId: alice.id, userId: 'alice', detail: { expiresAt: aliceExpiry } }])

  // the user reconnects: a new grant, a new lifetime, nothing to warn of yet
  await connectUser(env, { userId: 'alice' })
  t.equal((await view(alice.id)).refreshTokenExpiresAt, new Date(clock + 10 * DAY).toISOString())
  t.same(await expiring(), [], 'not again after a reconnect')

  // bob (connected 4 days in) enters the window later; a rotating refresh restarts the lifetime of alice's new token
  clock += 4 * DAY
  const refreshed = await app.inject({
    method: 'POST',
    url: `/admin/connections/${alice.id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(refreshed.statusCode, 200)
  t.equal((await view(alice.id)).refreshTokenExpiresAt, new Date(clock + 10 * DAY).toISOString(), 'rotated: reset')
  t.same(await expiring(), [
    ['connection.expiring', { ...data, connectionId: bob.id, userId: 'bob', expiresAt: bobExpiry }],
  ])
})

t.test('no expiry known, no warning; EXPIRY_WARNING_SECONDS=0 turns them off', async (t) => {
  let clock = Date.now()
  const env = await startFlowEnv(t, {
    app: { background: false, now: () => new Date(clock), config: { EXPIRY_WARNING_SECONDS: 0 } },
    authServer: { accessTokenTtl: 60 * 86_400 },
    providers: [{ id: 'plain' }, { id: 'bounded', extra: { refreshTokenLifetimeSeconds: 86_400 } }],
  })
  const { connection: plain } = await connectUser(env, { userId: 'u', provider: 'plain' })
  await connectUser(env, { userId: 'u', provider: 'bounded' })
  t.equal(plain.refreshTokenExpiresAt, null)
  clock += 12 * 3_600_000
  t.equal(await env.app.services.expiryWarnings.warnExpiring(), 0)
  t.equal(await env.app.deps.db.prisma.connection.count({ where: { expiryWarnedAt: { not: null } } }), 0)
})

t.test('refresh_token_expires_in wins over the rule; two instances warn once', async (t) => {
  const clock = Date.now()
  const now = () => new Date(clock)
  const env = await startFlowEnv(t, {
    app: { background: false, now },
    authServer: { accessTokenTtl: 60 * 86_400, refreshTokenExpiresIn: 3 * 86_400 },
    providers: [{ id: 'idp', extra: { refreshTokenLifetimeSeconds: 30 * 86_400 } }],
  })
  const other = await build(t, { db: env.db, background: false, now })
  await env.app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: env.caller.headers,
    payload: { url: 'http://127.0.0.1:9/hooks', events: ['connection.expiring'] },
  })
  const { connection } = await connectUser(env, { userId: 'alice' })
  t.equal(connection.refreshTokenExpiresAt?.toISOString(), new Date(clock + 3 * DAY).toISOString(), 'as the IdP said')

  const warnings = [env.app, other.app].map((app) => app.services.expiryWarnings.warnExpiring())
  t.same((await Promise.all(warnings)).sort(), [0, 1], 'one instance warned, the other found nothing to do')
  t.equal(await env.db.prisma.webhookDelivery.count({ where: { event: 'connection.expiring' } }), 1)
})
