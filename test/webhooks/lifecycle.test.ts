// The events of a connection's life as the real services cause them: the callback, the scheduler's refreshes
// against oidc-provider (transient failures, recovery, a refresh token revoked at the provider) and DELETE.
import t from 'tap'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { connectUser, startFlowEnv } from '../support/flow.js'
import { startReceiver } from './receiver.js'
import { readmeVerifier } from './verifier.js'

t.test('each transition of a connection reaches the receiver once, signed, without a token', async (t) => {
  let clock = Date.now()
  const env = await startFlowEnv(t, {
    app: { background: false, now: () => new Date(clock), timing: { providerTimeoutSeconds: 2 } },
    authServer: { accessTokenTtl: 3600, rotateRefreshToken: true },
  })
  const { app } = env
  const {
    keyring,
    db: { prisma },
  } = app.deps
  const receiver = await startReceiver()
  t.teardown(() => receiver.close())
  const registered = await app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: env.caller.headers,
    payload: { url: receiver.url },
  })
  const secret = registered.json().secret as string
  const verify = await readmeVerifier()

  const tokens = new Set<string>()
  const remember = async (connectionId: string) => {
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
    tokens.add(openAccessToken(keyring, row).reveal())
    const refreshToken = openRefreshToken(keyring, row)?.reveal()
    if (refreshToken) tokens.add(refreshToken)
    return row
  }
  /** Sends what is due and returns the events received since the last call, verified. */
  let seen = 0
  const newEvents = async () => {
    await app.webhookSender.deliverDue()
    const fresh = receiver.received.slice(seen)
    seen = receiver.received.length
    return fresh.map((request) => {
      const headers = request.headers as Record<string, string>
      const event = verify(secret, headers, request.body, { now: clock }) as { id: string; type: string; data: object }
      t.equal(headers['webhook-id'], event.id)
      return { type: event.type, data: event.data }
    })
  }
  /** Moves the clock to the connection's next refresh and runs the scheduler once. */
  const refreshDue = async (connectionId: string) => {
    const row = await prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
    clock = Math.max(clock, (row.nextRefreshAt?.getTime() ?? clock) + 1000)
    return app.scheduler.tick()
  }

  // connection.created, from the real callback
  const { connection } = await connectUser(env, { userId: 'alice' })
  await remember(connection.id)
  const data = { connectionId: connection.id, namespace: 'default', provider: env.providerId, userId: 'alice' }
  t.same(await newEvents(), [
    { type: 'connection.created', data: { ...data, status: 'active', replaced: false, accountChanged: false } },
  ])

  // transient failures: refresh_failed once, at the third in a row
  env.server.setTokenFault({ kind: 'status', status: 503, grantType: 'refresh_token' })
  const failures: string[][] = []
  for (let i = 0; i < 4; i++) {
    t.match(await refreshDue(connection.id), { failed: 1 })
    failures.push((await newEvents()).map((e) => e.type))
  }
  t.same(failures, [[], [], ['connection.refresh_failed'], []])
  t.match(receiver.received[1] && JSON.parse(receiver.received[1].body).data, {
    ...data,
    status: 'active',
    failure: 'transient',
    failureCount: 3,
  })

  // the provider is back: recovered, once
  env.server.setTokenFault(null)
  t.match(await refreshDue(connection.id), { refreshed: 1 })
  t.same(await newEvents(), [{ type: 'connection.recovered', data: { ...data, status: 'active', failures: 4 } }])
  await remember(connection.id)
  t.match(await refreshDue(connection.id), { refreshed: 1 })
  t.same(await newEvents(), [], 'a plain refresh is no event')
  const current = await remember(connection.id)

  // the refresh token is revoked at oidc-provider: reauthorization_required, once
  await env.server.revoke(openRefreshToken(keyring, current)?.reveal() ?? '', 'refresh_token')
  await refreshDue(connection.id)
  t.equal(
    (await prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })).status,
    'reauthorization_required',
  )
  t.same(await newEvents(), [
    {
      type: 'connection.reauthorization_required',
      data: { ...data, status: 'reauthorization_required', reason: 'invalid_grant' },
    },
  ])
  clock += 3600_000
  await app.scheduler.tick()
  t.same(await newEvents(), [], 'not again')

  // the user reconnects, then the caller deletes the connection
  await connectUser(env, { userId: 'alice' })
  await remember(connection.id)
  t.same(await newEvents(), [
    { type: 'connection.created', data: { ...data, status: 'active', replaced: true, accountChanged: false } },
  ])
  const deleted = await app.inject({
    method: 'DELETE',
    url: `/connections/${env.providerId}/alice`,
    headers: env.caller.headers,
  })
  t.equal(deleted.statusCode, 204)
  t.same(await newEvents(), [
    { type: 'connection.revoked', data: { ...data, status: 'revoked', revocation: 'revoked' } },
  ])

  t.equal(receiver.received.length, 6, 'six transitions, six deliveries')
  const everything = JSON.stringify(receiver.received) + JSON.stringify(await prisma.webhookDelivery.findMany())
  t.ok(tokens.size >= 4)
  for (const token of [...tokens, env.clientSecret, env.caller.apiKey, secret.slice('whsec_'.length)]) {
    t.notOk(everything.includes(token), 'no token or secret in any delivery')
  }
})
