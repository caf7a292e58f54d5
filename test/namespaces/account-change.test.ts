// A connection remembers the provider account it holds. A flow that comes back signed in as another account is
// refused (nothing stored, the old grant untouched) unless it allowed the change; an accepted change revokes the old
// grant; a repeat consent by the same account never revokes anything.
import t from 'tap'
import { openRefreshToken } from '../../src/services/connection-tokens.js'
import {
  browserGet,
  connectUser,
  openStartLink,
  requestAuthorization,
  startFlowEnv,
  type FlowEnv,
} from '../support/flow.js'
import { startReceiver } from '../webhooks/receiver.js'

const env = await startFlowEnv(t, { app: { background: false } })
const { app } = env
const receiver = await startReceiver()
t.teardown(() => receiver.close())
const hook = await app.inject({
  method: 'PUT',
  url: '/webhook',
  headers: env.caller.headers,
  payload: { url: receiver.url },
})
if (hook.statusCode !== 201) throw new Error(`webhook registration answered ${hook.statusCode}`)
const storedRefreshToken = async () => {
  const row = await app.deps.db.prisma.connection.findUniqueOrThrow({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: env.providerId, userId: 'bob' } },
  })
  return { row, refreshToken: openRefreshToken(app.deps.keyring, row)?.reveal() as string }
}

/** Runs a flow for bob signed in as `login` and answers where the broker sent the browser back. */
async function flowAs(flowEnv: FlowEnv, login: string, body: { allowAccountChange?: boolean } = {}): Promise<URL> {
  const link = await requestAuthorization(flowEnv, { userId: 'bob', ...body })
  const { providerUrl, cookie } = await openStartLink(link.url)
  const callbackUrl = await flowEnv.server.authorize(providerUrl, { login })
  const callback = await browserGet(callbackUrl, cookie)
  if (callback.status !== 302 || !callback.location) throw new Error(`callback answered ${callback.status}`)
  return callback.location
}

const events = async () =>
  (await app.deps.db.prisma.webhookDelivery.findMany({ orderBy: { createdAt: 'asc' } })).map(
    (delivery) => delivery.payload,
  )

t.test('another account is refused unless the flow allowed it; the first grant is kept meanwhile', async (t) => {
  const first = await connectUser(env, { userId: 'bob', authorize: { login: 'bob-personal' } })
  t.equal(first.connection.subject, 'bob-personal', 'the account is remembered')
  const before = await storedRefreshToken()
  const revocationsBefore = env.server.stats.revocations

  const refused = await flowAs(env, 'bob-work')
  t.equal(refused.searchParams.get('status'), 'error')
  t.equal(refused.searchParams.get('error'), 'account_mismatch')
  const after = await storedRefreshToken()
  t.same(after.row, before.row, 'the connection is untouched')
  t.equal((await env.server.introspect(before.refreshToken)).active, true, 'the provider still honours the old grant')
  t.equal(env.server.stats.revocations, revocationsBefore + 2, "the refused account's grant is revoked, not kept")
  const audit = await app.deps.db.prisma.authorizationRequest.findFirstOrThrow({
    where: { outcome: 'account_mismatch' },
  })
  t.equal(audit.status, 'failed', 'the flow ends failed')
})

t.test('an allowed account change replaces the connection and revokes the old grant', async (t) => {
  const before = await storedRefreshToken()
  const accepted = await flowAs(env, 'bob-work', { allowAccountChange: true })
  t.equal(accepted.searchParams.get('status'), 'connected')
  const after = await storedRefreshToken()
  t.equal(after.row.id, before.row.id, 'the same connection')
  t.equal(after.row.subject, 'bob-work', 'now holding the new account')
  t.equal((await env.server.introspect(before.refreshToken)).active, false, 'the old grant is revoked at the provider')
  t.equal((await env.server.introspect(after.refreshToken)).active, true, 'the new one works')
  const served = await app.inject({ url: `/tokens/bob?provider=${env.providerId}`, headers: env.caller.headers })
  t.equal(
    (await env.server.introspect(served.json().accessToken)).sub,
    'bob-work',
    'GET /tokens serves the new account',
  )
  const created = (await events()).filter((payload) => (payload as { type: string }).type === 'connection.created')
  t.match(created.at(-1), { data: { replaced: true, accountChanged: true } }, 'the webhook says so')
  const revoked = await app.deps.db.prisma.auditEvent.findFirstOrThrow({
    where: { action: 'connection.previous_grant_revoked' },
  })
  t.same(revoked.detail, { revocation: 'revoked' })
})

t.test('a repeat consent by the same account revokes nothing', async (t) => {
  const before = await storedRefreshToken()
  const revocationsBefore = env.server.stats.revocations
  const again = await flowAs(env, 'bob-work')
  t.equal(again.searchParams.get('status'), 'connected', 'no allowAccountChange needed')
  const after = await storedRefreshToken()
  t.equal(env.server.stats.revocations, revocationsBefore, 'nothing revoked at the provider')
  t.not(after.refreshToken, before.refreshToken, 'new tokens stored')
  t.equal((await env.server.introspect(after.refreshToken)).active, true, 'and they keep working')
  const created = (await events()).filter((payload) => (payload as { type: string }).type === 'connection.created')
  t.match(created.at(-1), { data: { replaced: true, accountChanged: false } })
})
