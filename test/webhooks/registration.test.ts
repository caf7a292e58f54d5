import t from 'tap'
import { connectionEventTypes } from '../../src/schemas/webhook.js'
import { signingSecretContext } from '../../src/webhooks/endpoints.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createCaller, createProvider, seedConnection } from '../support/fixtures.js'
import { changeStatus } from './fixtures.js'
import { startReceiver } from './receiver.js'
import { webhookWorld } from './world.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const admin = bearer(ADMIN_TOKEN)

t.test('a caller registers its endpoint; the secret is shown once and kept encrypted', async (t) => {
  const { app, db } = await build(t, { background: false })
  await createProvider(app)
  const caller = await createCaller(app, { allowedProviders: ['acme'] })
  const auth = bearer(caller.apiKey)

  t.equal((await app.inject({ method: 'GET', url: '/webhook', headers: auth })).statusCode, 404)
  const created = await app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: auth,
    payload: { url: 'https://billing.example/hooks', events: ['connection.revoked'] },
  })
  t.equal(created.statusCode, 201)
  const { secret, ...endpoint } = created.json()
  t.match(secret, /^whsec_/)
  t.match(endpoint, { clientId: caller.id, url: 'https://billing.example/hooks', events: ['connection.revoked'] })

  const shown = await app.inject({ method: 'GET', url: '/webhook', headers: auth })
  t.same(shown.json(), endpoint, 'the secret is not shown again')

  const changed = await app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: auth,
    payload: { url: 'https://billing.example/v2/hooks' },
  })
  t.equal(changed.statusCode, 200, 'a second PUT updates in place')
  t.notOk('secret' in changed.json())
  t.match(changed.json(), { id: endpoint.id, url: 'https://billing.example/v2/hooks', events: [] })
  t.equal(changed.json().events.length, connectionEventTypes.length, 'all events when none are named')

  const row = await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })
  t.notOk(Buffer.from(row.secretEnc).includes(Buffer.from(secret.slice(6))), 'not stored in clear')
  t.equal(app.deps.keyring.decrypt(row.secretEnc, signingSecretContext(endpoint.id)), secret, 'kept across PUT')
  t.throws(() => app.deps.keyring.decrypt(row.secretEnc, signingSecretContext(caller.id)), 'bound to its row')

  const rotated = await app.inject({ method: 'POST', url: '/webhook/rotate-secret', headers: auth })
  t.equal(rotated.statusCode, 200)
  t.not(rotated.json().secret, secret)
  const after = await db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: endpoint.id } })
  t.equal(app.deps.keyring.decrypt(after.secretEnc, signingSecretContext(endpoint.id)), rotated.json().secret)

  t.equal((await app.inject({ method: 'DELETE', url: '/webhook', headers: auth })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: '/webhook', headers: auth })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: '/webhook/rotate-secret', headers: auth })).statusCode, 404)

  const audit = await db.prisma.auditEvent.findMany({ where: { subjectType: 'webhook' }, orderBy: { id: 'asc' } })
  t.same(
    audit.map((a) => [a.actor, a.action]),
    [
      [`client:${caller.id}`, 'webhook.created'],
      [`client:${caller.id}`, 'webhook.updated'],
      [`client:${caller.id}`, 'webhook.secret_rotated'],
      [`client:${caller.id}`, 'webhook.deleted'],
    ],
  )
  t.notMatch(JSON.stringify(audit.map((a) => a.detail)), secret.slice(6))
})

t.test('each caller sees only its own endpoint; credentials are required', async (t) => {
  const { app, db } = await build(t, { background: false })
  await createProvider(app)
  const one = await createCaller(app, { allowedProviders: ['acme'], name: 'one' })
  const two = await createCaller(app, { allowedProviders: ['acme'], name: 'two' })
  const put = (apiKey: string) =>
    app.inject({ method: 'PUT', url: '/webhook', headers: bearer(apiKey), payload: { url: 'https://one.example/' } })
  t.equal((await put(one.apiKey)).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/webhook', headers: bearer(two.apiKey) })).statusCode, 404)
  t.equal((await put(two.apiKey)).statusCode, 201, 'its own, with its own secret')
  t.equal(await db.prisma.webhookEndpoint.count(), 2)

  for (const headers of [{}, admin, bearer('tbk_wrong')]) {
    const res = await app.inject({ method: 'GET', url: '/webhook', headers })
    t.equal(res.statusCode, 401)
    t.equal(res.json().error, 'unauthorized')
  }
  await db.prisma.apiClient.update({ where: { id: one.id }, data: { revokedAt: new Date() } })
  await new Promise((resolve) => setTimeout(resolve, 2100)) // the API key cache holds a caller for 2 s
  t.equal((await app.inject({ method: 'GET', url: '/webhook', headers: bearer(one.apiKey) })).statusCode, 401)
})

t.test('URLs and events are checked', async (t) => {
  const { app } = await build(t, { background: false })
  await createProvider(app)
  const caller = await createCaller(app, { allowedProviders: ['acme'] })
  const put = (payload: object) =>
    app.inject({ method: 'PUT', url: '/webhook', headers: bearer(caller.apiKey), payload })
  const refused: Array<[object, RegExp]> = [
    [{ url: 'http://billing.example/hooks' }, /https/],
    [{ url: 'http://10.0.0.1/hooks' }, /https/],
    [{ url: 'ftp://billing.example/hooks' }, /https/],
    [{ url: 'not a url' }, /absolute URL/],
    [{ url: 'https://user:pass@billing.example/hooks' }, /credentials/],
    [{ url: 'https://billing.example/hooks#x' }, /fragment/],
    [{ url: `https://billing.example/${'a'.repeat(2048)}` }, /2048/],
    [{ url: 'https://billing.example/', events: [] }, /events/],
    [{ url: 'https://billing.example/', events: ['connection.deleted'] }, /events/],
    [{ url: 'https://billing.example/', events: ['connection.revoked', 'connection.revoked'] }, /events/],
    [{}, /url/],
  ]
  for (const [payload, message] of refused) {
    const res = await put(payload)
    t.equal(res.statusCode, 400, JSON.stringify(payload).slice(0, 80))
    t.equal(res.json().error, 'invalid_request')
    t.match(res.json().message, message)
  }
  for (const url of [
    'http://127.0.0.1:8080/hooks',
    'http://localhost/hooks',
    'http://[::1]:9/x',
    'https://a.example',
  ]) {
    t.ok([200, 201].includes((await put({ url })).statusCode), `${url} is accepted`)
  }
})

t.test('the admin manages any caller endpoint', async (t) => {
  const { app, db } = await build(t, { background: false })
  await createProvider(app)
  const caller = await createCaller(app, { allowedProviders: ['acme'] })
  const url = `/admin/clients/${caller.id}/webhook`

  t.equal((await app.inject({ method: 'GET', url, headers: admin })).statusCode, 404)
  const created = await app.inject({ method: 'PUT', url, headers: admin, payload: { url: 'https://b.example/h' } })
  t.equal(created.statusCode, 201)
  t.match(created.json(), { clientId: caller.id, url: 'https://b.example/h', secret: /^whsec_/ })
  const mine = await app.inject({ method: 'GET', url: '/webhook', headers: bearer(caller.apiKey) })
  t.equal(mine.json().id, created.json().id, 'the same endpoint the caller sees')

  const rotated = await app.inject({ method: 'POST', url: `${url}/rotate-secret`, headers: admin })
  t.equal(rotated.statusCode, 200)
  t.match(rotated.json().secret, /^whsec_/)
  t.equal((await app.inject({ method: 'GET', url, headers: admin })).json().url, 'https://b.example/h')
  t.equal((await app.inject({ method: 'DELETE', url, headers: admin })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/webhook', headers: bearer(caller.apiKey) })).statusCode, 404)

  const unknown = '00000000-0000-4000-8000-000000000000'
  const put = (path: string) =>
    app.inject({ method: 'PUT', url: path, headers: admin, payload: { url: 'https://b.example/h' } })
  t.equal((await put(`/admin/clients/${unknown}/webhook`)).json().error, 'not_found')
  t.equal((await put('/admin/clients/not-a-uuid/webhook')).statusCode, 400)
  await db.prisma.apiClient.update({ where: { id: caller.id }, data: { revokedAt: new Date() } })
  t.equal((await put(url)).statusCode, 404, 'a revoked caller gets no new endpoint')
  t.equal((await app.inject({ method: 'GET', url, headers: bearer(caller.apiKey) })).statusCode, 401)

  const audit = await db.prisma.auditEvent.findMany({ where: { subjectType: 'webhook' }, orderBy: { id: 'asc' } })
  t.same(
    audit.map((a) => `${a.actor} ${a.action}`),
    ['admin webhook.created', 'admin webhook.secret_rotated', 'admin webhook.deleted'],
  )
})

t.test(
  'changing the URL sends pending deliveries to the new one; rotating signs them with the new secret',
  async (t) => {
    const w = await webhookWorld(t)
    const moved = await startReceiver('/moved')
    t.teardown(() => moved.close())
    await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now())
    const auth = bearer(w.caller.apiKey)
    await w.app.inject({ method: 'PUT', url: '/webhook', headers: auth, payload: { url: moved.url } })
    const rotated = await w.app.inject({ method: 'POST', url: '/webhook/rotate-secret', headers: auth })
    await w.app.webhookSender.deliverDue()
    t.equal(w.receiver.received.length, 0)
    t.equal(moved.received.length, 1)
    const [request] = moved.received
    t.ok(request && w.verified(request, rotated.json().secret))
    t.throws(() => request && w.verified(request), /invalid webhook signature/, 'the old secret no longer verifies')
  },
)

t.test('deleting the endpoint drops its pending deliveries', async (t) => {
  const w = await webhookWorld(t)
  const second = await (await seedConnection(w.app, { providerId: 'acme', userId: 'user-2' })).id
  await changeStatus(w.db, second, 'connection.created', 'active', w.now())
  await w.app.inject({ method: 'DELETE', url: '/webhook', headers: bearer(w.caller.apiKey) })
  t.equal(await w.db.prisma.webhookDelivery.count(), 0)
  await w.app.webhookSender.deliverDue()
  t.equal(w.receiver.received.length, 0)
})
