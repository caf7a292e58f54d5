// A field the schema does not name is refused wherever the schema says `additionalProperties: false`, and the answer
// names it: a misspelled "scope" for "scopes" must not be dropped and answered 201.
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { loadOperations } from '../fuzz/support/operations.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('every closed request body refuses an unknown field with 400, naming it', async (t) => {
  const { app } = await build(t, { background: false })
  const apiKey = (
    await app.inject({ method: 'POST', url: '/admin/clients', headers: admin, payload: { name: 'caller' } })
  ).json().apiKey as string
  const closed = (await loadOperations()).filter((op) => op.body?.additionalProperties === false)
  t.ok(closed.length >= 6, `${closed.length} operations with a closed body`)
  for (const op of closed) {
    const example = (op.body as { example?: object }).example
    t.ok(example, `${op.method} ${op.path} documents an example body`)
    const url = op.path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000')
    const res = await app.inject({
      method: op.method as 'POST',
      url,
      headers: { authorization: `Bearer ${op.security.includes('admin') ? ADMIN_TOKEN : apiKey}` },
      payload: { ...example, misspelledField: 1 },
    })
    t.equal(res.statusCode, 400, `${op.method} ${op.path}`)
    t.same(res.json(), { error: 'invalid_request', message: 'body has an unknown field "misspelledField"' })
  }
})

t.test('"scope" for "scopes" in POST /authorizations is refused, not dropped', async (t) => {
  const { app } = await build(t, { background: false })
  const apiKey = (
    await app.inject({ method: 'POST', url: '/admin/clients', headers: admin, payload: { name: 'caller' } })
  ).json().apiKey as string
  const res = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { provider: 'idp', userId: 'u1', scope: ['read'] },
  })
  t.equal(res.statusCode, 400)
  t.equal(res.json().message, 'body has an unknown field "scope"')
})

t.test('a closed querystring refuses an unknown parameter', async (t) => {
  const { app } = await build(t, { background: false })
  const res = await app.inject({ method: 'GET', url: '/admin/clients?includeRevoked=true&limt=5', headers: admin })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { error: 'invalid_request', message: 'querystring has an unknown field "limt"' })
  const nested = await app.inject({
    method: 'POST',
    url: '/admin/providers',
    headers: admin,
    payload: {
      id: 'nested',
      authorizationEndpoint: 'https://idp.example/authorize',
      tokenEndpoint: 'https://idp.example/token',
      clientId: 'c',
      clientSecret: 's',
      authorizationParams: { prompt: 'consent' },
    },
  })
  t.not(nested.statusCode, 500, 'an open map (authorizationParams) still takes its own keys')
})
