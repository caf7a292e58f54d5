import t from 'tap'
import { clientSecretContext } from '../../src/providers/registry.js'
import { ADMIN_TOKEN, build } from '../helper.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const SECRET = 'provider-client-secret-value'
const plain = {
  id: 'acme',
  displayName: 'Acme',
  authorizationEndpoint: 'https://idp.acme.example/authorize',
  tokenEndpoint: 'https://idp.acme.example/token',
  revocationEndpoint: 'https://idp.acme.example/revoke',
  clientId: 'acme-client',
  clientSecret: SECRET,
  scopes: ['read', 'write'],
}

t.test('providers: create, read, list, replace, delete', async (t) => {
  const { app, db } = await build(t, { config: { PUBLIC_URL: new URL('https://broker.example.com/base/') } })
  const inject = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object) =>
    app.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) })

  t.equal((await app.inject({ method: 'GET', url: '/admin/providers' })).statusCode, 401)
  const created = await inject('POST', '/admin/providers', plain)
  t.equal(created.statusCode, 201)
  t.match(created.json(), {
    id: 'acme',
    hasClientSecret: true,
    tokenEndpointAuthMethod: 'client_secret_basic',
    pkce: true,
    defaultTokenLifetimeSeconds: 3600,
    refreshMarginSeconds: null,
    credentialsStatus: 'ok',
    redirectUri: 'https://broker.example.com/base/oauth/acme/callback',
  })
  t.notOk('clientSecret' in created.json() || 'clientSecretEnc' in created.json())
  t.notOk(created.body.includes(SECRET))

  const row = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'acme' } })
  t.notOk(Buffer.from(row.clientSecretEnc as Uint8Array).includes(SECRET), 'stored encrypted')
  t.equal(app.deps.keyring.decrypt(row.clientSecretEnc as Uint8Array, clientSecretContext('acme')), SECRET)

  t.equal((await inject('POST', '/admin/providers', plain)).statusCode, 409)
  t.equal((await inject('GET', '/admin/providers/acme')).json().displayName, 'Acme')
  t.equal((await inject('GET', '/admin/providers/nope')).statusCode, 404)

  // replace: the secret stays unless given
  const replaced = await inject('PUT', '/admin/providers/acme', {
    authorizationEndpoint: 'https://idp.acme.example/authorize',
    tokenEndpoint: 'https://idp.acme.example/token',
    clientId: 'acme-client-2',
    tokenEndpointAuthMethod: 'client_secret_post',
    refreshMarginSeconds: 120,
  })
  t.equal(replaced.statusCode, 200)
  t.match(replaced.json(), {
    clientId: 'acme-client-2',
    revocationEndpoint: null,
    scopes: [],
    displayName: null,
    refreshMarginSeconds: 120,
    hasClientSecret: true,
  })
  const kept = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'acme' } })
  t.equal(app.deps.keyring.decrypt(kept.clientSecretEnc as Uint8Array, clientSecretContext('acme')), SECRET)
  await inject('PUT', '/admin/providers/acme', { ...plain, id: undefined, clientSecret: 'rotated-secret' })
  const rotated = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'acme' } })
  t.equal(
    app.deps.keyring.decrypt(rotated.clientSecretEnc as Uint8Array, clientSecretContext('acme')),
    'rotated-secret',
  )
  t.equal((await inject('PUT', '/admin/providers/nope', { ...plain, id: undefined })).statusCode, 404)
  t.equal((await inject('PUT', '/admin/providers/acme', { ...plain, id: 'other' })).statusCode, 400)

  const audit = await db.prisma.auditEvent.findMany({ where: { subjectType: 'provider' }, orderBy: { id: 'asc' } })
  t.same(
    audit.map((event) => [event.actor, event.action]),
    [
      ['admin', 'provider.created'],
      ['admin', 'provider.updated'],
      ['admin', 'provider.updated'],
    ],
  )
  t.match(audit[1]?.detail, { changed: ['displayName', 'revocationEndpoint', 'clientId'], clientSecretReplaced: false })
  const details = JSON.stringify(audit.map((event) => event.detail))
  t.notOk(details.includes('secret-value') || details.includes('rotated-secret'), 'no secret in the audit trail')

  // a provider with connections is not deleted
  await db.prisma.connection.create({ data: { providerId: 'acme', userId: 'u1', accessTokenEnc: new Uint8Array(1) } })
  const refused = await inject('DELETE', '/admin/providers/acme')
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().error, 'conflict')
  await db.prisma.connection.deleteMany({})
  t.equal((await inject('DELETE', '/admin/providers/acme')).statusCode, 204)
  t.equal((await inject('GET', '/admin/providers/acme')).statusCode, 404)
  t.equal((await inject('DELETE', '/admin/providers/acme')).statusCode, 404)
})

t.test('providers: validation', async (t) => {
  const { app } = await build(t)
  const post = async (changes: Record<string, unknown>) => {
    const res = await app.inject({
      method: 'POST',
      url: '/admin/providers',
      headers: admin,
      payload: { ...plain, ...changes },
    })
    return { status: res.statusCode, body: res.json() as { error: string; message: string } }
  }
  const refusals: Array<[string, Record<string, unknown>, RegExp]> = [
    ['http outside loopback', { tokenEndpoint: 'http://idp.acme.example/token' }, /https/],
    ['credentials in a URL', { tokenEndpoint: 'https://user:pw@idp.acme.example/token' }, /credentials/],
    ['not a URL', { authorizationEndpoint: 'idp.acme.example/authorize' }, /absolute URL|format/],
    ['issuer and endpoints', { issuer: 'https://idp.acme.example' }, /either issuer/],
    ['no endpoints', { authorizationEndpoint: undefined, revocationEndpoint: undefined }, /either issuer/],
    ['id not a slug', { id: 'Acme/1' }, /id|pattern/],
    ['reserved parameter', { authorizationParams: { redirect_uri: 'https://evil.example' } }, /redirect_uri/],
    ['response_mode', { authorizationParams: { response_mode: 'form_post' } }, /response_mode/],
    ['no secret', { clientSecret: undefined }, /clientSecret/],
    ['bad scope', { scopes: ['has space'] }, /scope/],
    ['unknown template', { preset: 'no-such-provider' }, /unknown template/],
    ['unknown auth method', { tokenEndpointAuthMethod: 'tls_client_auth' }, /tokenEndpointAuthMethod/],
  ]
  for (const [name, changes, message] of refusals) {
    const { status, body } = await post(changes)
    t.equal(status, 400, name)
    t.equal(body.error, 'invalid_request', name)
    t.match(body.message, message, name)
  }
  const loopback = await post({
    id: 'local',
    authorizationEndpoint: 'http://127.0.0.1:9000/authorize',
    tokenEndpoint: 'http://localhost:9000/token',
    revocationEndpoint: 'http://[::1]:9000/revoke',
  })
  t.equal(loopback.status, 201, 'http on loopback hosts')
  const params = await post({ id: 'params', authorizationParams: { prompt: 'consent', access_type: 'offline' } })
  t.same(params.body, { ...params.body, authorizationParams: { prompt: 'consent', access_type: 'offline' } })
})

t.test('providers: pagination', async (t) => {
  const { app } = await build(t)
  for (const id of ['a1', 'b2', 'c3']) {
    await app.inject({ method: 'POST', url: '/admin/providers', headers: admin, payload: { ...plain, id } })
  }
  const first = await app.inject({ method: 'GET', url: '/admin/providers?limit=2', headers: admin })
  t.same(
    first.json().items.map((item: { id: string }) => item.id),
    ['a1', 'b2'],
  )
  t.type(first.json().nextCursor, 'string')
  t.notOk(first.body.includes(SECRET))
  const second = await app.inject({
    method: 'GET',
    url: `/admin/providers?limit=2&cursor=${first.json().nextCursor}`,
    headers: admin,
  })
  t.same(second.json(), { items: [second.json().items[0]], nextCursor: null })
  t.equal(second.json().items[0].id, 'c3')
  t.equal((await app.inject({ method: 'GET', url: '/admin/providers?limit=501', headers: admin })).statusCode, 400)
  const badCursor = await app.inject({ method: 'GET', url: '/admin/providers?cursor=%%%', headers: admin })
  t.equal(badCursor.statusCode, 400)
  const all = await app.inject({ method: 'GET', url: '/admin/providers', headers: admin })
  t.equal(all.json().items.length, 3, 'default limit 50')
})
