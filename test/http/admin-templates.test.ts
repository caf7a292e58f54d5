// GET /admin/templates, providers made from templates (overrides, connectionConfig), and the provider check against
// real HTTP servers: discovery reachable, the issuer as the document names it, redirects, issuer templates, https.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { build } from '../helper.js'
import { adminHeaders } from '../support/fixtures.js'

/** A server answering by path, for discovery documents, redirects and endpoints. */
async function httpServer(t: Test, routes: Record<string, (res: ServerResponse, origin: string) => void>) {
  const server = createServer((req, res) => {
    const route = routes[(req.url ?? '/').split('?')[0] as string]
    if (route) route(res, origin)
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return origin
}

const json = (body: object) => (res: ServerResponse) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
const document = (issuer: string, origin: string) => ({
  issuer,
  authorization_endpoint: `${origin}/authorize`,
  token_endpoint: `${origin}/token`,
  jwks_uri: `${origin}/jwks`,
  response_types_supported: ['code'],
})

t.test('the catalogue: a list of summaries, one template in full, 404 for an unknown name', async (t) => {
  const { app } = await build(t)
  const list = await app.inject({ method: 'GET', url: '/admin/templates', headers: adminHeaders })
  t.equal(list.statusCode, 200)
  const items = list.json().items as Array<{ name: string; connectionConfig: string[] }>
  t.ok(items.length >= 30)
  t.match(
    items.find((item) => item.name === 'zendesk'),
    {
      displayName: 'Zendesk',
      docsUrl: /^https:\/\/developer\.zendesk\.com\//,
      authMode: 'oauth2',
      connectionConfig: ['subdomain'],
    },
  )
  const slack = await app.inject({ method: 'GET', url: '/admin/templates/slack', headers: adminHeaders })
  t.match(slack.json(), { name: 'slack', scopeParameter: 'user_scope', errorRules: [{ means: 'reauthorize' }] })
  const missing = await app.inject({ method: 'GET', url: '/admin/templates/nope', headers: adminHeaders })
  t.same(missing.json(), { error: 'not_found', message: 'template not found' })
  t.equal((await app.inject({ method: 'GET', url: '/admin/templates' })).statusCode, 401, 'admin only')
})

t.test('a provider overrides what its template sets; connectionConfig fills placeholders', async (t) => {
  const { app } = await build(t)
  const post = (payload: object) =>
    app.inject({
      method: 'POST',
      url: '/admin/providers',
      headers: adminHeaders,
      payload: { clientId: 'c', clientSecret: 's', ...payload },
    })
  const enterprise = await post({
    id: 'ghe',
    template: 'github',
    authorizationEndpoint: 'https://github.example.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.example.com/login/oauth/access_token',
  })
  t.match(enterprise.json(), {
    template: 'github',
    tokenEndpoint: 'https://github.example.com/login/oauth/access_token',
    tokenEndpointAuthMethod: 'client_secret_post',
  })
  const gitlab = await post({ id: 'gl', template: 'gitlab', issuer: 'https://gitlab.example.com' })
  t.match(gitlab.json(), {
    issuer: 'https://gitlab.example.com/',
    authorizationEndpoint: null,
    revocationEndpoint: null,
  })
  const tenant = await post({ id: 'ms', preset: 'microsoft' })
  t.match(tenant.json(), {
    template: 'microsoft',
    connectionConfig: { tenant: 'common' },
    authorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
  })
  const missing = await post({ id: 'zd', template: 'zendesk' })
  t.same(missing.json(), {
    error: 'invalid_request',
    message: 'the zendesk template needs connectionConfig.subdomain',
  })
  t.equal((await post({ id: 'x', template: 'github', preset: 'gitlab' })).statusCode, 400, 'template ≠ preset')
  t.equal((await post({ id: 'y', connectionConfig: { a: 'b' } })).statusCode, 400, 'connectionConfig needs a template')
  const beside = await post({
    id: 'corp',
    issuer: 'https://login.example.com',
    revocationEndpoint: 'https://login.example.com/revoke',
  })
  t.equal(beside.statusCode, 201, 'a revocation endpoint beside an issuer')
})

t.test('the check: a sound provider passes; the usual mistakes are named', async (t) => {
  const origin = await httpServer(t, {
    '/good/.well-known/openid-configuration': (res, at) => json(document(`${at}/good`, at))(res),
    '/slash/.well-known/openid-configuration': (res, at) => json(document(`${at}/slash/`, at))(res),
    '/moved/.well-known/openid-configuration': (res, at) =>
      res.writeHead(301, { location: `${at}/good/.well-known/openid-configuration` }).end(),
    '/tenant/.well-known/openid-configuration': (res, at) =>
      json(document('https://login.microsoftonline.com/{tenantid}/v2.0', at))(res),
    '/plain/.well-known/openid-configuration': (res, at) =>
      json({ ...document(`${at}/plain`, at), token_endpoint: 'http://idp.example.com/token' })(res),
    '/token': (res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"invalid_request"}'),
    '/authorize': (res) => res.writeHead(200).end('sign in'),
  })
  const { app, logs } = await build(t)
  const create = (id: string, fields: object, query = '') =>
    app.inject({
      method: 'POST',
      url: `/admin/providers${query}`,
      headers: adminHeaders,
      payload: { id, clientId: 'c', clientSecret: 'check-secret', ...fields },
    })
  const check = async (id: string) => {
    const res = await app.inject({ method: 'POST', url: `/admin/providers/${id}/check`, headers: adminHeaders })
    t.equal(res.statusCode, 200)
    return res.json() as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> }
  }
  const failed = (result: Awaited<ReturnType<typeof check>>) => result.checks.filter((item) => !item.ok)

  t.equal((await create('good', { issuer: `${origin}/good` }, '?check=true')).statusCode, 201, 'a sound one is created')
  t.match(await check('good'), { ok: true, checks: [{ name: 'discovery', ok: true }, { name: 'issuer_matches' }] })

  await create('slash', { issuer: `${origin}/slash` })
  t.match(failed(await check('slash')), [{ name: 'issuer_matches', detail: /with a trailing slash: set exactly that/ }])

  await create('moved', { issuer: `${origin}/moved` })
  t.match(failed(await check('moved')), [{ name: 'discovery', detail: /redirects to .*\/good\/.well-known/ }])

  await create('tenant', { issuer: `${origin}/tenant` })
  t.match(failed(await check('tenant')), [{ name: 'issuer_matches', detail: /is a template .*\{tenantid\}/ }])

  await create('plain', { issuer: `${origin}/plain` })
  t.match(failed(await check('plain')), [{ name: 'discovered_endpoints_https', detail: /http:\/\/idp.example.com/ }])

  await create('gone', { issuer: `${origin}/gone` })
  t.match(failed(await check('gone')), [{ name: 'discovery', detail: /answered HTTP 404/ }])

  await create('endpoints', { authorizationEndpoint: `${origin}/authorize`, tokenEndpoint: `${origin}/token` })
  t.match(await check('endpoints'), { ok: true })
  await create('wrong-path', { authorizationEndpoint: `${origin}/authorize`, tokenEndpoint: `${origin}/oauth/token` })
  t.match(failed(await check('wrong-path')), [{ name: 'token_endpoint_reachable', detail: /HTTP 404/ }])

  const refused = await create('refused', { issuer: `${origin}/slash` }, '?check=true')
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { error: 'provider_check_failed', message: /issuer_matches: .*trailing slash/ })
  const stored = await app.inject({ method: 'GET', url: '/admin/providers/refused', headers: adminHeaders })
  t.equal(stored.statusCode, 404, 'a refused provider is not stored')
  t.equal(
    (await app.inject({ method: 'POST', url: '/admin/providers/nope/check', headers: adminHeaders })).statusCode,
    404,
  )
  t.notMatch(logs.text, /check-secret/, 'no secret in the logs')
})

t.test('a failed discovery is logged with its URL and error code', async (t) => {
  const origin = await httpServer(t, {})
  const { app, logs } = await build(t)
  await app.inject({
    method: 'POST',
    url: '/admin/providers',
    headers: adminHeaders,
    payload: { id: 'idp', issuer: `${origin}/realm`, clientId: 'c', clientSecret: 's' },
  })
  await app.deps.providers
    .configFor(await app.deps.db.prisma.provider.findUniqueOrThrow({ where: { id: 'idp' } }))
    .then(
      () => t.fail('discovery of a 404 cannot succeed'),
      () => undefined,
    )
  const line = logs.lines.map((text) => JSON.parse(text)).find((entry) => entry.msg === 'discovery failed')
  t.match(line, {
    provider: 'idp',
    url: `${origin}/realm/.well-known/openid-configuration`,
    errorCode: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
  })
})
