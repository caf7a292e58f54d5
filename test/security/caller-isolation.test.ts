// What one internal caller can reach of another's. Connections belong to (provider, user), not to the caller that ran
// the flow: the contract lets a caller allowed a provider read and disconnect any user's connection to it, and the
// userId namespace of a provider is shared by its callers. So "another caller's flow" means the flow itself: a
// caller not allowed the provider can neither read the tokens it produced nor start, steer or finish such a flow;
// the authorization request is reachable only through its single-use start link and the browser's signed cookie.
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'
import { browserGet, connectUser, openStartLink, requestAuthorization, startFlowEnv } from '../support/flow.js'
import { createCaller } from '../support/fixtures.js'

const env = await startFlowEnv(t, { providers: [{ id: 'idp' }, { id: 'other' }], app: { background: false } })
const returnPrefix = [new URL('/', env.returnTo).href]
const a = await createCaller(env.app, { name: 'a', allowedProviders: ['idp'], allowedReturnTo: returnPrefix })
const b = await createCaller(env.app, { name: 'b', allowedProviders: ['other'], allowedReturnTo: returnPrefix })
const c = await createCaller(env.app, { name: 'c', allowedProviders: ['idp'], allowedReturnTo: [] })
const { connection } = await connectUser(env, { userId: 'alice', caller: a })
const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, headers: object, payload?: object) =>
  env.app.inject({ method, url, headers: headers as Record<string, string>, ...(payload ? { payload } : {}) })

t.test('a caller not allowed the provider reaches nothing of its connections', async (t) => {
  const read = await inject('GET', '/tokens/alice?provider=idp', b.headers)
  t.same([read.statusCode, read.json().error], [403, 'forbidden'])
  t.notMatch(read.body, /accessToken/)
  const unnamed = await inject('GET', '/tokens/alice', b.headers)
  t.equal(unnamed.statusCode, 400, 'provider left out while several exist: refused, not guessed')
  t.equal((await inject('DELETE', '/connections/idp/alice', b.headers)).statusCode, 403)
  const start = await inject('POST', '/authorizations', b.headers, { provider: 'idp', userId: 'alice' })
  t.same([start.statusCode, start.json().error], [403, 'forbidden'], 'cannot start a flow that would replace it')
  for (const [method, url] of [
    ['GET', '/admin/connections'],
    ['GET', `/admin/connections/${connection.id}`],
    ['POST', `/admin/connections/${connection.id}/refresh`],
    ['DELETE', `/admin/connections/${connection.id}`],
  ] as const) {
    t.equal((await inject(method, url, b.headers)).statusCode, 401, `${method} ${url} is admin only`)
  }
  const row = await env.db.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })
  t.equal(row.version, connection.version, 'the connection is untouched')
})

t.test('a caller allowed the provider reads a connection another caller created (the contract)', async (t) => {
  const res = await inject('GET', '/tokens/alice?provider=idp', c.headers)
  t.equal(res.statusCode, 200)
  t.equal(res.json().userId, 'alice')
  t.equal(connection.createdByClientId, a.id, 'created by a, read by c')
})

t.test("another caller's authorization request cannot be opened twice, finished or steered", async (t) => {
  const link = await requestAuthorization(env, { userId: 'bob' }, a)
  const victim = await openStartLink(link.url)
  // the link leaks after the user opened it: it is spent
  const replay = await browserGet(link.url)
  t.equal(replay.location?.searchParams.get('error'), 'invalid_state')
  t.equal(replay.cookie, '', 'no second flow cookie')
  // b runs a flow of its own and sends its browser, with b's cookie, to a's callback
  const own = await requestAuthorization(env, { userId: 'bob', provider: 'other' }, b)
  const attacker = await openStartLink(own.url)
  const callback = await env.server.authorize(victim.providerUrl, { login: 'mallory' })
  const hijack = await browserGet(callback, attacker.cookie)
  t.equal(hijack.location?.searchParams.get('error'), 'invalid_state')
  t.equal(await env.db.prisma.connection.count({ where: { userId: 'bob' } }), 0, 'nothing stored for bob')
  // the user's own browser still finishes the flow
  const finished = await browserGet(callback, victim.cookie)
  t.equal(finished.location?.searchParams.get('status'), 'connected')
})

t.test('with a single provider, leaving it out does not bypass allowedProviders', async (t) => {
  const { app } = await build(t, { background: false })
  await createProvider(app, { id: 'solo' })
  await seedConnection(app, { providerId: 'solo', userId: 'alice' })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: { name: 'none', allowedProviders: [] },
  })
  const headers = { authorization: `Bearer ${created.json().apiKey}` }
  const res = await app.inject({ method: 'GET', url: '/tokens/alice', headers })
  t.same([res.statusCode, res.json().error], [403, 'forbidden'])
})
