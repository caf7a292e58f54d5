import t from 'tap'
import { hashApiKey } from '../../src/services/api-keys.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createProvider } from '../support/fixtures.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('callers: the API key is shown once and stored as a hash; revoked keys stop working', async (t) => {
  const { app, db } = await build(t)
  await createProvider(app, { id: 'glimesh' })
  t.equal((await app.inject({ method: 'POST', url: '/admin/clients', payload: { name: 'x' } })).statusCode, 401)

  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: {
      name: 'billing',
      allowedProviders: ['glimesh', 'glimesh'],
      allowedReturnTo: ['https://app.example.com', 'http://127.0.0.1:8080/cb'],
    },
  })
  t.equal(created.statusCode, 201)
  const body = created.json()
  t.match(body, {
    name: 'billing',
    allowedProviders: ['glimesh'],
    allowedReturnTo: ['https://app.example.com/', 'http://127.0.0.1:8080/cb'],
    revokedAt: null,
    apiKey: /^tbk_[A-Za-z0-9_-]{43}$/,
  })
  t.ok(body.apiKey.startsWith(body.keyPrefix))
  t.notOk('keyHash' in body)

  const row = await db.prisma.apiClient.findUniqueOrThrow({ where: { id: body.id } })
  t.same(Buffer.from(row.keyHash), Buffer.from(hashApiKey(body.apiKey)), 'only the hash is stored')
  t.notOk(JSON.stringify(row, (_key, value) => (value instanceof Uint8Array ? '' : value)).includes(body.apiKey))
  const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'client.created' } })
  t.notOk(JSON.stringify(audit.detail).includes(body.apiKey))

  const list = await app.inject({ method: 'GET', url: '/admin/clients', headers: admin })
  t.equal(list.json().items.length, 1)
  t.notOk(list.body.includes(body.apiKey), 'never listed again')
  t.notOk('apiKey' in list.json().items[0])

  const asCaller = { authorization: `Bearer ${body.apiKey}` }
  const authorized = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: asCaller,
    payload: { provider: 'glimesh', userId: 'u1' },
  })
  t.equal(authorized.statusCode, 201, 'the key authenticates')

  const other = await app.inject({ method: 'POST', url: '/admin/clients', headers: admin, payload: { name: 'other' } })
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/admin/clients/${other.json().id}`, headers: admin })).statusCode,
    204,
  )
  const revokedKey = { authorization: `Bearer ${other.json().apiKey}` }
  const refused = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: revokedKey,
    payload: { provider: 'glimesh', userId: 'u1' },
  })
  t.equal(refused.statusCode, 401, 'a revoked key is refused')
  t.equal(
    (await app.inject({ method: 'DELETE', url: `/admin/clients/${other.json().id}`, headers: admin })).statusCode,
    204,
    'twice is fine',
  )

  const active = await app.inject({ method: 'GET', url: '/admin/clients', headers: admin })
  t.same(
    active.json().items.map((item: { name: string }) => item.name),
    ['billing'],
    'revoked callers are not listed',
  )
  const everyone = await app.inject({ method: 'GET', url: '/admin/clients?includeRevoked=true', headers: admin })
  t.same(
    everyone
      .json()
      .items.map((item: { name: string; revokedAt: string | null }) => [item.name, item.revokedAt !== null]),
    [
      ['other', true],
      ['billing', false],
    ],
  )
  t.equal((await app.inject({ method: 'DELETE', url: '/admin/clients/not-a-uuid', headers: admin })).statusCode, 404)
  t.equal(
    (await app.inject({ method: 'DELETE', url: '/admin/clients/00000000-0000-4000-8000-000000000000', headers: admin }))
      .statusCode,
    404,
  )
})

t.test('callers: validation and pagination', async (t) => {
  const { app } = await build(t)
  const post = (payload: object) => app.inject({ method: 'POST', url: '/admin/clients', headers: admin, payload })
  for (const allowedReturnTo of [
    ['http://app.example.com/'],
    ['https://app.example.com/?next=1'],
    ['https://app.example.com/#x'],
    ['https://user@app.example.com/'],
    ['/relative'],
    ['javascript:alert(1)'],
  ]) {
    const res = await post({ name: 'x', allowedReturnTo })
    t.equal(res.statusCode, 400, String(allowedReturnTo[0]))
    t.equal(res.json().error, 'invalid_request')
  }
  t.equal((await post({ name: 'x', allowedProviders: ['Not A Slug'] })).statusCode, 400)
  t.equal((await post({ name: '' })).statusCode, 400)

  for (let i = 0; i < 3; i++) await post({ name: `c${i}` })
  const first = await app.inject({ method: 'GET', url: '/admin/clients?limit=2', headers: admin })
  t.same(
    first.json().items.map((item: { name: string }) => item.name),
    ['c2', 'c1'],
  )
  const second = await app.inject({
    method: 'GET',
    url: `/admin/clients?limit=2&cursor=${first.json().nextCursor}`,
    headers: admin,
  })
  t.same(
    second.json().items.map((item: { name: string }) => item.name),
    ['c0'],
  )
  t.equal(second.json().nextCursor, null)
  t.equal((await app.inject({ method: 'GET', url: '/admin/clients?cursor=bm9wZQ', headers: admin })).statusCode, 400)
})
