// Callers change without a redeploy: PATCH changes what a caller may do, rotate-key issues a new key while the old one
// keeps working for a grace period, and allowedProviders may only name providers that exist.
import t, { type Test } from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const provider = (id: string) => ({
  id,
  authorizationEndpoint: `https://${id}.example/authorize`,
  tokenEndpoint: `https://${id}.example/token`,
  clientId: 'client',
  clientSecret: 'secret',
})

/** An app whose clock the test moves, with two providers and one caller allowed the first. */
async function world(t: Test) {
  let clock = new Date('2026-03-01T10:00:00Z')
  const built = await build(t, { background: false, now: () => clock })
  const { app } = built
  for (const id of ['alpha', 'beta']) {
    const res = await app.inject({ method: 'POST', url: '/admin/providers', headers: admin, payload: provider(id) })
    t.equal(res.statusCode, 201, `provider ${id}`)
  }
  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: { name: 'billing', allowedProviders: ['alpha'] },
  })
  t.equal(created.statusCode, 201)
  const client = created.json() as { id: string; apiKey: string; keyPrefix: string }
  /** GET /tokens with this key: 401 refused, 403 provider not allowed, 404 allowed (no such connection). */
  const tokenStatus = async (apiKey: string, providerId = 'alpha') =>
    (
      await app.inject({
        method: 'GET',
        url: `/tokens/u1?provider=${providerId}`,
        headers: { authorization: `Bearer ${apiKey}` },
      })
    ).statusCode
  const advance = (ms: number) => (clock = new Date(clock.getTime() + ms))
  return { ...built, client, tokenStatus, advance }
}

const KEY_CACHE_MS = 2_000

t.test('allowedProviders must name providers that exist, on POST and on PATCH', async (t) => {
  const { app, client } = await world(t)
  const post = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: { name: 'typo', allowedProviders: ['alpha', 'gamma', 'delta'] },
  })
  t.equal(post.statusCode, 400)
  t.same(post.json(), {
    error: 'invalid_request',
    message: 'allowedProviders names providers that do not exist: gamma, delta',
  })
  const list = await app.inject({ method: 'GET', url: '/admin/clients', headers: admin })
  t.equal(list.json().items.length, 1, 'nothing was created')

  const patch = await app.inject({
    method: 'PATCH',
    url: `/admin/clients/${client.id}`,
    headers: admin,
    payload: { allowedProviders: ['gamma'] },
  })
  t.equal(patch.statusCode, 400)
  t.equal(patch.json().error, 'invalid_request')
})

t.test('PATCH changes name, providers and return URLs; the caller sees it within the key cache', async (t) => {
  const { app, client, tokenStatus, advance, db } = await world(t)
  t.equal(await tokenStatus(client.apiKey, 'beta'), 403, 'beta not allowed yet')

  const patched = await app.inject({
    method: 'PATCH',
    url: `/admin/clients/${client.id}`,
    headers: admin,
    payload: { name: ' billing-v2 ', allowedProviders: ['beta', 'beta'], allowedReturnTo: ['https://app.example.com'] },
  })
  t.equal(patched.statusCode, 200)
  t.match(patched.json(), {
    id: client.id,
    name: 'billing-v2',
    allowedProviders: ['beta'],
    allowedReturnTo: ['https://app.example.com/'],
    keyPrefix: client.keyPrefix,
  })
  t.notOk('apiKey' in patched.json(), 'the key is not shown again')

  advance(KEY_CACHE_MS)
  t.equal(await tokenStatus(client.apiKey, 'beta'), 404, 'beta allowed now')
  t.equal(await tokenStatus(client.apiKey, 'alpha'), 403, 'alpha no longer')

  const onlyName = await app.inject({
    method: 'PATCH',
    url: `/admin/clients/${client.id}`,
    headers: admin,
    payload: { name: 'billing-v3' },
  })
  t.same(onlyName.json().allowedProviders, ['beta'], 'fields not given stay')
  const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'client.updated' } })
  t.match(audit.detail, { changed: ['name', 'allowedProviders', 'allowedReturnTo'] })

  const inject = (url: string, payload: object) => app.inject({ method: 'PATCH', url, headers: admin, payload })
  t.equal((await inject(`/admin/clients/${client.id}`, {})).statusCode, 400, 'an empty change')
  t.equal((await inject(`/admin/clients/${client.id}`, { allowedReturnTo: ['http://x.example/'] })).statusCode, 400)
  t.equal((await inject(`/admin/clients/${client.id}`, { namespace: 'other' })).statusCode, 400, 'unknown field')
  t.equal((await inject('/admin/clients/00000000-0000-4000-8000-000000000000', { name: 'x' })).statusCode, 404)
  t.equal((await inject('/admin/clients/nope', { name: 'x' })).statusCode, 404)
  t.equal(
    (await app.inject({ method: 'PATCH', url: `/admin/clients/${client.id}`, payload: { name: 'x' } })).statusCode,
    401,
  )
  await app.inject({ method: 'DELETE', url: `/admin/clients/${client.id}`, headers: admin })
  const revoked = await inject(`/admin/clients/${client.id}`, { name: 'x' })
  t.equal(revoked.statusCode, 409)
  t.equal(revoked.json().error, 'conflict')
})

t.test('rotate-key: the new key works at once, the old one until its grace ends, then not', async (t) => {
  const { app, client, tokenStatus, advance, db } = await world(t)
  t.equal(await tokenStatus(client.apiKey), 404, 'the first key works (and is cached)')
  const rotated = await app.inject({
    method: 'POST',
    url: `/admin/clients/${client.id}/rotate-key`,
    headers: admin,
    payload: { graceSeconds: 60 },
  })
  t.equal(rotated.statusCode, 200)
  const second = rotated.json() as { apiKey: string; keyPrefix: string; previousKeyExpiresAt: string }
  t.match(second.apiKey, /^tbk_/)
  t.not(second.apiKey, client.apiKey)
  t.ok(second.apiKey.startsWith(second.keyPrefix))
  t.equal(second.previousKeyExpiresAt, '2026-03-01T10:01:00.000Z')

  t.equal(await tokenStatus(second.apiKey), 404, 'the new key works')
  advance(KEY_CACHE_MS)
  t.equal(await tokenStatus(client.apiKey), 404, 'the old key works during the grace period (read again)')
  advance(56_500)
  t.equal(await tokenStatus(client.apiKey), 404, 'still within the grace period (read again, and cached)')
  advance(1_500)
  t.equal(await tokenStatus(client.apiKey), 401, 'refused once the grace period is over, though still cached')
  t.equal(await tokenStatus(second.apiKey), 404, 'the new key still works')

  const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'client.key_rotated' } })
  t.notOk(JSON.stringify(audit.detail).includes(second.apiKey), 'the audit holds no key')
  t.notOk(rotated.body.includes(client.apiKey), 'the answer holds no old key')
})

t.test('rotate-key: without a body the grace is an hour; rotating again ends the oldest key at once', async (t) => {
  const { app, client, tokenStatus, advance } = await world(t)
  const rotate = (payload?: object) =>
    app.inject({
      method: 'POST',
      url: `/admin/clients/${client.id}/rotate-key`,
      headers: admin,
      ...(payload ? { payload } : {}),
    })
  const second = await rotate()
  t.equal(second.statusCode, 200)
  t.equal(second.json().previousKeyExpiresAt, '2026-03-01T11:00:00.000Z', 'an hour by default')
  const third = await rotate({ graceSeconds: 0 })
  t.equal(third.statusCode, 200)
  advance(KEY_CACHE_MS)
  t.equal(await tokenStatus(client.apiKey), 401, 'the first key stopped with the second rotation')
  t.equal(await tokenStatus(second.json().apiKey), 401, 'graceSeconds 0: the second key stopped')
  t.equal(await tokenStatus(third.json().apiKey), 404)

  t.equal((await rotate({ graceSeconds: 604_801 })).statusCode, 400, 'at most a week')
  t.equal((await rotate({ graceSeconds: -1 })).statusCode, 400)
  t.equal((await rotate({ grace: 10 })).statusCode, 400, 'unknown field')
  const missing = await app.inject({
    method: 'POST',
    url: '/admin/clients/00000000-0000-4000-8000-000000000000/rotate-key',
    headers: admin,
  })
  t.equal(missing.statusCode, 404)
  await app.inject({ method: 'DELETE', url: `/admin/clients/${client.id}`, headers: admin })
  t.equal((await rotate()).statusCode, 409, 'a revoked caller gets no new key')
  advance(KEY_CACHE_MS)
  t.equal(await tokenStatus(third.json().apiKey), 401)
})
