// A start link dies with the caller that issued it; a provider's allowedScopes bound what flows may ask for; and
// GET /tokens refuses a token without the scopes a caller requires, naming the missing ones.
import t from 'tap'
import { createCaller } from '../support/fixtures.js'
import {
  adminHeaders,
  browserGet,
  connectUser,
  openStartLink,
  requestAuthorization,
  startFlowEnv,
} from '../support/flow.js'

const env = await startFlowEnv(t, {
  providers: [{ id: 'idp', extra: { allowedScopes: ['openid', 'offline_access', 'profile'] } }],
  app: { background: false },
})
const { app } = env
const allowed = { allowedProviders: ['idp'], allowedReturnTo: [env.returnTo] }
const revoke = async (id: string) => {
  const res = await app.inject({ method: 'DELETE', url: `/admin/clients/${id}`, headers: adminHeaders })
  if (res.statusCode !== 204) throw new Error(`revoking answered ${res.statusCode}`)
}

t.test('a link of a caller revoked before it was opened is refused at start', async (t) => {
  const caller = await createCaller(app, allowed)
  const link = await requestAuthorization(env, { userId: 'u1' }, caller)
  await revoke(caller.id)
  const opened = await browserGet(link.url)
  t.equal(opened.status, 302)
  t.equal(opened.location?.searchParams.get('error'), 'invalid_state', 'refused')
  t.equal(opened.location?.origin, new URL(env.returnTo).origin, 'back to the application, not to the provider')
})

t.test(
  'a flow of a caller revoked while the user was at the provider is refused before any token request',
  async (t) => {
    const caller = await createCaller(app, allowed)
    const link = await requestAuthorization(env, { userId: 'u2' }, caller)
    const { providerUrl, cookie } = await openStartLink(link.url)
    const callbackUrl = await env.server.authorize(providerUrl, { login: 'u2' })
    await revoke(caller.id)
    const codeRequests = env.server.stats.tokenRequests.authorization_code
    const back = await browserGet(callbackUrl, cookie)
    t.equal(back.location?.searchParams.get('error'), 'invalid_state')
    t.equal(env.server.stats.tokenRequests.authorization_code, codeRequests, 'the code was never exchanged')
    const stored = await app.deps.db.prisma.connection.count({ where: { userId: 'u2' } })
    t.equal(stored, 0)
  },
)

t.test('allowedScopes: a scope outside them is refused with 400 invalid_scope', async (t) => {
  const ask = (scopes: string[]) =>
    app.inject({
      method: 'POST',
      url: '/authorizations',
      headers: env.caller.headers,
      payload: { provider: 'idp', userId: 'u3', scopes, returnTo: env.returnTo },
    })
  const refused = await ask(['openid', 'email'])
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), { error: 'invalid_scope', message: 'scope not allowed for this provider: email' })
  t.equal((await ask(['openid', 'profile'])).statusCode, 201, 'allowed scopes pass')
  const provider = await app.inject({ url: '/admin/providers/idp', headers: adminHeaders })
  t.same(provider.json().allowedScopes, ['openid', 'offline_access', 'profile'], 'shown to the admin')
})

t.test('requiredScopes: 409 insufficient_scope with the missing ones, 200 when granted', async (t) => {
  const { connection } = await connectUser(env, { userId: 'u4' })
  const granted = (connection.scope ?? '').split(' ')
  t.ok(granted.includes('openid'), `granted: ${connection.scope}`)
  const get = (required: string) =>
    app.inject({ url: `/tokens/u4?provider=idp&requiredScopes=${required}`, headers: env.caller.headers })
  const missing = await get('openid,profile,email')
  t.equal(missing.statusCode, 409)
  t.match(missing.json(), { error: 'insufficient_scope', missingScopes: ['profile', 'email'] })
  t.match(missing.json().message, /profile, email/)
  t.equal((await get(granted.join(','))).statusCode, 200, 'granted scopes pass')
  t.equal((await get('openid')).statusCode, 200, 'also from the cache')
  t.equal((await get('profile')).statusCode, 409, 'and the cache checks too')
  t.equal((await get(',,')).statusCode, 400, 'a malformed list is a 400')
})
