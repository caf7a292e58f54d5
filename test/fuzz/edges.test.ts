// Inputs the route fuzzer found mishandled, kept as plain examples.
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createCaller, createProvider } from '../support/fixtures.js'

const { app } = await build(t, { background: false })
await createProvider(app, { id: 'idp' })
const caller = await createCaller(app, { allowedProviders: ['idp'] })
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('a userId of 256 characters, as POST /authorizations accepts it, reaches GET /tokens and DELETE', async (t) => {
  for (const userId of ['u'.repeat(256), '田'.repeat(256)]) {
    const created = await app.inject({
      method: 'POST',
      url: '/authorizations',
      headers: caller.headers,
      payload: { provider: 'idp', userId },
    })
    t.equal(created.statusCode, 201, 'POST /authorizations')
    const path = encodeURIComponent(userId)
    const read = await app.inject({ method: 'GET', url: `/tokens/${path}?provider=idp`, headers: caller.headers })
    t.same([read.statusCode, read.json().error], [404, 'not_found'], 'no connection yet, rather than a router error')
    const removed = await app.inject({ method: 'DELETE', url: `/connections/idp/${path}`, headers: caller.headers })
    t.equal(removed.statusCode, 404)
  }
  const tooLong = await app.inject({ method: 'GET', url: `/tokens/${'u'.repeat(257)}`, headers: caller.headers })
  t.same([tooLong.statusCode, tooLong.json().error], [400, 'invalid_request'], 'longer than the schema allows')
})

t.test("the router's own refusals answer { error, message } with a request id", async (t) => {
  for (const url of ['/tokens/%E0%A4%A', `/tokens/${'u'.repeat(5000)}`, '/admin/connections/%zz']) {
    const res = await app.inject({ method: 'GET', url, headers: caller.headers })
    t.equal(res.statusCode, 400, url.slice(0, 40))
    t.equal(res.json().error, 'invalid_request')
    t.type(res.json().message, 'string')
    t.match(res.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  }
})

t.test('numbers too large for a double are refused, not passed on as Infinity', async (t) => {
  for (const url of [
    '/admin/connections?limit=1e309',
    '/admin/clients?limit=1e309',
    '/admin/audit?limit=-1e309',
    '/admin/webhook-deliveries?limit=%2B1e309',
  ]) {
    const res = await app.inject({ method: 'GET', url, headers: admin })
    t.same([res.statusCode, res.json().error], [400, 'invalid_request'], url)
  }
  const token = await app.inject({
    method: 'GET',
    url: '/tokens/alice?provider=idp&minTtl=1e309',
    headers: caller.headers,
  })
  t.same([token.statusCode, token.json().error], [400, 'invalid_request'], 'minTtl')
})

t.test('a NUL character anywhere in the input is refused, not sent to Postgres (a 500)', async (t) => {
  for (const request of [
    { method: 'DELETE', url: '/admin/providers/%00', headers: admin },
    { method: 'GET', url: '/admin/providers/idp%00', headers: admin },
    { method: 'GET', url: '/tokens/al%00ice?provider=idp', headers: caller.headers },
    { method: 'GET', url: '/admin/connections?userId=%00', headers: admin },
    {
      method: 'POST',
      url: '/authorizations',
      headers: caller.headers,
      payload: { provider: 'idp', userId: 'a\u0000' },
    },
    { method: 'POST', url: '/admin/clients', headers: admin, payload: { name: 'x\u0000y' } },
  ] as const) {
    const res = await app.inject(request)
    t.same([res.statusCode, res.json().error], [400, 'invalid_request'], `${request.method} ${request.url}`)
  }
})
