// Security headers on every kind of answer: nosniff and no referrer everywhere, no framing, a Content-Security-Policy
// on JSON answers and on every HTML page (the flow pages keep their own narrower one, Swagger UI its wider one), and
// Cache-Control: no-store on every answer that carries a secret or a bearer capability.
import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, createCaller, createProvider } from '../support/fixtures.js'

const { app } = await build(t, { background: false })
await createProvider(app, { id: 'idp' })
const caller = await createCaller(app, { allowedProviders: ['idp'], allowedReturnTo: ['https://app.example.test/'] })

type Headers = Record<string, string | string[] | number | undefined>

function everywhere(t: Pick<typeof import('tap').default, 'equal' | 'match'>, headers: Headers, what: string) {
  t.equal(headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
  t.equal(headers['referrer-policy'], 'no-referrer', `${what}: no referrer`)
  t.match(String(headers['content-security-policy']), /frame-ancestors 'none'/, `${what}: never framed`)
  t.equal(headers['x-frame-options'], 'DENY', `${what}: never framed (older browsers)`)
}

t.test('JSON answers, errors and Fastify 404s', async (t) => {
  for (const [url, headers] of [
    ['/healthz', {}],
    ['/admin/providers', adminHeaders],
    ['/admin/providers', {}],
    ['/no-such-route', {}],
    ['/tokens/alice?provider=idp', caller.headers],
  ] as const) {
    const res = await app.inject({ url, headers })
    everywhere(t, res.headers, `GET ${url} ${res.statusCode}`)
    t.match(String(res.headers['content-security-policy']), /default-src 'none'/, `${url}: loads nothing`)
  }
  t.notOk((await app.inject({ url: '/healthz' })).headers['strict-transport-security'], 'no HSTS over http')
})

t.test('HTML pages: the start page of an unknown link, a callback without a flow', async (t) => {
  for (const url of ['/oauth/start/no-such-link', '/oauth/idp/callback?code=c&state=s']) {
    const res = await app.inject({ url })
    t.match(res.headers['content-type'], /^text\/html/, url)
    everywhere(t, res.headers, url)
    t.match(String(res.headers['content-security-policy']), /default-src 'none'/, `${url}: loads nothing`)
    t.equal(res.headers['cache-control'], 'no-store', url)
  }
})

t.test('Swagger UI keeps a policy that lets it run', async (t) => {
  const res = await app.inject({ url: '/docs' })
  t.equal(res.statusCode, 200)
  everywhere(t, res.headers, '/docs')
  t.match(String(res.headers['content-security-policy']), /script-src 'self'/)
})

t.test('no-store on every answer that carries a secret or a start link', async (t) => {
  const json = { 'content-type': 'application/json' }
  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: { ...adminHeaders, ...json },
    payload: { name: 'headers', allowedProviders: ['idp'] },
  })
  const { id } = created.json() as { id: string }
  const answers = {
    'POST /admin/clients': created,
    'POST /admin/clients/:id/rotate-key': await app.inject({
      method: 'POST',
      url: `/admin/clients/${id}/rotate-key`,
      headers: { ...adminHeaders, ...json },
      payload: {},
    }),
    'PUT /admin/clients/:id/webhook': await app.inject({
      method: 'PUT',
      url: `/admin/clients/${caller.id}/webhook`,
      headers: { ...adminHeaders, ...json },
      payload: { url: 'http://127.0.0.1:9/hook' },
    }),
    'POST /admin/clients/:id/webhook/rotate-secret': await app.inject({
      method: 'POST',
      url: `/admin/clients/${caller.id}/webhook/rotate-secret`,
      headers: adminHeaders,
    }),
    'POST /authorizations': await app.inject({
      method: 'POST',
      url: '/authorizations',
      headers: { ...caller.headers, ...json },
      payload: { provider: 'idp', userId: 'alice' },
    }),
  }
  const rotated = answers['POST /admin/clients/:id/rotate-key'].json() as { apiKey: string }
  const own = { authorization: `Bearer ${rotated.apiKey}`, ...json }
  Object.assign(answers, {
    'PUT /webhook': await app.inject({
      method: 'PUT',
      url: '/webhook',
      headers: own,
      payload: { url: 'http://127.0.0.1:9/own' },
    }),
    'POST /webhook/rotate-secret': await app.inject({
      method: 'POST',
      url: '/webhook/rotate-secret',
      headers: { authorization: own.authorization },
    }),
  })
  for (const [what, res] of Object.entries(answers)) {
    t.ok(res.statusCode < 300, `${what} ${res.statusCode} ${res.statusCode < 300 ? '' : res.body}`)
    t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`)
    everywhere(t, res.headers, what)
  }
  const listed = await app.inject({ url: '/admin/clients', headers: adminHeaders })
  t.not(listed.headers['cache-control'], 'no-store', 'a list without secrets may be cached as usual')
})

t.test('HSTS when browsers reach the broker over https', async (t) => {
  const { app } = await build(t, { background: false, config: { PUBLIC_URL: new URL('https://broker.example.test') } })
  const res = await app.inject({ url: '/healthz' })
  t.equal(res.headers['strict-transport-security'], 'max-age=31536000')
})
