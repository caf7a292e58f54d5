// Text that is not well-formed Unicode (a lone surrogate) cannot be stored as it is: Postgres' UTF-8 would turn every
// one into U+FFFD, so "\ud800" and "\udfff" would name the same user. Refused with 400 wherever it comes in: JSON
// bodies (object keys too), and path parameters percent-encoded as CESU-8 (%ED%A0%80). A query string cannot carry one:
// an undecodable escape stays as the literal text it is.
import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, createCaller, createProvider } from '../support/fixtures.js'

const { app, db } = await build(t, { background: false })
await createProvider(app, { id: 'idp' })
const caller = await createCaller(app, { allowedProviders: ['idp'], allowedReturnTo: ['https://app.example.test/'] })
const json = { ...caller.headers, 'content-type': 'application/json' }

t.test('a lone surrogate in a JSON body: 400, nothing stored', async (t) => {
  for (const userId of ['\\ud800', 'a\\udfffb', '\\udc00\\ud800']) {
    const res = await app.inject({
      method: 'POST',
      url: '/authorizations',
      headers: json,
      payload: `{"provider":"idp","userId":"${userId}"}`,
    })
    t.equal(res.statusCode, 400, userId)
    t.same(res.json(), { error: 'invalid_request', message: 'body must be well-formed Unicode (no lone surrogates)' })
  }
  const name = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: { ...adminHeaders, 'content-type': 'application/json' },
    payload: '{"name":"x\\ud800","allowedProviders":[]}',
  })
  t.equal(name.statusCode, 400, 'a caller name')
  const key = await app.inject({
    method: 'POST',
    url: '/admin/providers',
    headers: { ...adminHeaders, 'content-type': 'application/json' },
    payload:
      '{"id":"other","clientId":"c","clientSecret":"s","authorizationEndpoint":"https://o.example.test/a",' +
      '"tokenEndpoint":"https://o.example.test/t","authorizationParams":{"\\ud800":"x"}}',
  })
  t.equal(key.statusCode, 400, 'an object key')
  t.equal(await db.prisma.authorizationRequest.count(), 0)
  t.equal(await db.prisma.provider.count({ where: { id: 'other' } }), 0)
})

t.test('a lone surrogate in a path parameter: 400', async (t) => {
  for (const url of [
    '/tokens/%ED%A0%80?provider=idp',
    '/tokens/a%ED%BF%BF?provider=idp',
    '/connections/idp/%ED%A0%80',
  ]) {
    const res = await app.inject({
      method: url.startsWith('/connections') ? 'DELETE' : 'GET',
      url,
      headers: caller.headers,
    })
    t.equal(res.statusCode, 400, url)
    t.equal(res.json().error, 'invalid_request', url)
  }
})

t.test('well-formed text beyond the BMP is still accepted', async (t) => {
  const res = await app.inject({
    url: `/tokens/${encodeURIComponent('user-😀')}?provider=idp`,
    headers: caller.headers,
  })
  t.equal(res.statusCode, 404, 'an unknown user, not a refused one')
  const flow = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: json,
    payload: { provider: 'idp', userId: 'user-😀' },
  })
  t.equal(flow.statusCode, 201)
})
