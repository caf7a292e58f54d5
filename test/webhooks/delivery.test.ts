import t from 'tap'
import { connectionEventTypes } from '../../src/schemas/webhook.js'
import { build } from '../helper.js'
import { createCaller, createProvider } from '../support/fixtures.js'
import { changeStatus } from './fixtures.js'
import { startReceiver } from './receiver.js'
import { webhookWorld } from './world.js'

const counter = async (app: { deps: { metrics: { webhookDeliveries: { get(): Promise<unknown> } } } }) => {
  const { values } = (await app.deps.metrics.webhookDeliveries.get()) as {
    values: Array<{ value: number; labels: { outcome?: string } }>
  }
  return Object.fromEntries(values.map((v) => [v.labels.outcome, v.value]))
}

t.test('each transition is delivered once, signed, with its event id as webhook-id', async (t) => {
  const w = await webhookWorld(t)
  const transitions = [
    ['connection.created', 'active'],
    ['connection.refresh_failed', 'active'],
    ['connection.reauthorization_required', 'reauthorization_required'],
    ['connection.recovered', 'active'],
    ['connection.revoked', 'revoked'],
  ] as const
  for (const [type, status] of transitions) {
    t.equal(await changeStatus(w.db, w.connectionId, type, status, w.now()), 1, `${type}: one delivery`)
    w.advance(1000)
  }
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 5, failed: 0, gaveUp: 0 })
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 0, gaveUp: 0 }, 'nothing is sent twice')

  t.equal(w.receiver.received.length, 5)
  const events = w.receiver.received.map((request) => {
    const event = w.verified(request)
    t.equal(request.headers['webhook-id'], event.id, 'webhook-id is the event id')
    t.equal(request.headers['webhook-timestamp'], String(Math.floor(w.now().getTime() / 1000)))
    t.equal(request.headers['content-type'], 'application/json')
    return event
  })
  t.same(
    events.map((e) => e.type),
    transitions.map(([type]) => type),
    'in the order they happened',
  )
  t.same(events[2], {
    id: events[2]?.id,
    type: 'connection.reauthorization_required',
    createdAt: '2026-03-01T10:00:02.000Z',
    data: {
      connectionId: w.connectionId,
      namespace: 'default',
      provider: 'acme',
      userId: 'user-1',
      status: 'reauthorization_required',
    },
  })
  t.equal(new Set(events.map((e) => e.id)).size, 5, 'one id per event')
  t.match(
    w.receiver.received[0]?.body,
    /^\{"id":"[^"]+","type":"connection.created","createdAt":"[^"]+","data":\{"connectionId":/,
  )

  const rows = await w.db.prisma.webhookDelivery.findMany()
  t.equal(rows.length, 5, 'one delivery per event')
  t.ok(rows.every((row) => row.status === 'delivered' && row.attempts === 1 && row.lastStatus === 204))
  t.ok(rows.every((row) => row.leaseOwner === null && row.deliveredAt?.getTime() === w.now().getTime()))
  t.same(await counter(w.app), { delivered: 5 })
})

t.test('events reach the live callers allowed the provider, for the events they chose', async (t) => {
  const w = await webhookWorld(t, { events: ['connection.reauthorization_required'] })
  const { prisma } = w.db
  const pathOf = (caller: { apiKey: string }) => `/hooks/${caller.apiKey.slice(-6)}`
  const register = async (caller: { apiKey: string }) => {
    const res = await w.app.inject({
      method: 'PUT',
      url: '/webhook',
      headers: { authorization: `Bearer ${caller.apiKey}` },
      payload: { url: w.receiver.url.replace('/hooks', pathOf(caller)) },
    })
    t.equal(res.statusCode, 201)
    return res.json().secret as string
  }
  // allowed the provider though it did not create the connection: it can read the token, so it hears of it
  const other = await createCaller(w.app, { allowedProviders: ['acme'], name: 'support' })
  await createProvider(w.app, { id: 'globex' })
  const elsewhere = await createCaller(w.app, { name: 'crm', allowedProviders: ['globex'] })
  const revoked = await createCaller(w.app, { allowedProviders: ['acme'], name: 'legacy' })
  const otherSecret = await register(other)
  await register(elsewhere)
  await register(revoked)
  await prisma.apiClient.update({ where: { id: revoked.id }, data: { revokedAt: w.now() } })

  t.equal(await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now()), 1)
  t.equal(await changeStatus(w.db, w.connectionId, 'connection.reauthorization_required', 'x', w.now()), 2)
  await w.app.webhookSender.deliverDue()

  const received = w.receiver.received.map((r) =>
    r.path === pathOf(other) ? `support ${w.verified(r, otherSecret).type}` : `${r.path} ${w.verified(r).type}`,
  )
  t.same(received.sort(), [
    '/hooks connection.reauthorization_required',
    'support connection.created',
    'support connection.reauthorization_required',
  ])
})

t.test('a receiver that answers 500 twice gets the same event again until it accepts', async (t) => {
  const w = await webhookWorld(t, { webhooks: { random: () => 0.5 } })
  w.receiver.answer(500, 500)
  await changeStatus(w.db, w.connectionId, 'connection.reauthorization_required', 'x', w.now())

  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  let row = await w.db.prisma.webhookDelivery.findFirstOrThrow()
  t.match(row, { status: 'pending', attempts: 1, lastStatus: 500, lastError: 'receiver answered HTTP 500' })
  t.equal(row.nextAttemptAt.getTime() - w.now().getTime(), 10_000, 'first retry after 10 s')
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 0, gaveUp: 0 }, 'not before it is due')

  w.advance(10_000)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  row = await w.db.prisma.webhookDelivery.findFirstOrThrow()
  t.equal(row.nextAttemptAt.getTime() - w.now().getTime(), 20_000, 'then after 20 s')

  w.advance(20_000)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 1, failed: 0, gaveUp: 0 })
  row = await w.db.prisma.webhookDelivery.findFirstOrThrow()
  t.match(row, { status: 'delivered', attempts: 3, lastStatus: 204, lastError: null })

  const [first, second, third] = w.receiver.received
  t.equal(w.receiver.received.length, 3)
  for (const request of [first, second, third]) t.ok(request && w.verified(request), 'each attempt is signed')
  t.equal(new Set(w.receiver.received.map((r) => r.headers['webhook-id'])).size, 1, 'same webhook-id')
  t.equal(new Set(w.receiver.received.map((r) => r.body)).size, 1, 'same body')
  t.equal(new Set(w.receiver.received.map((r) => r.headers['webhook-timestamp'])).size, 3, 'fresh timestamps')
  t.same(await counter(w.app), { failed: 2, delivered: 1 })
})

t.test('after 24 hours of failures the delivery is marked failed', async (t) => {
  const w = await webhookWorld(t)
  w.receiver.answer(...Array<number>(100).fill(503))
  await changeStatus(w.db, w.connectionId, 'connection.refresh_failed', 'active', w.now())
  const start = w.now().getTime()
  for (let pass = 0; pass < 100; pass++) {
    const { gaveUp } = await w.app.webhookSender.deliverDue()
    if (gaveUp) break
    const row = await w.db.prisma.webhookDelivery.findFirstOrThrow()
    w.advance(row.nextAttemptAt.getTime() - w.now().getTime())
  }
  const row = await w.db.prisma.webhookDelivery.findFirstOrThrow()
  t.match(row, { status: 'failed', lastStatus: 503, leaseOwner: null })
  t.equal(w.now().getTime() - start, 24 * 3600 * 1000, 'the last attempt at the end of the 24 hours')
  t.equal(row.attempts, w.receiver.received.length)
  t.ok(row.attempts > 20 && row.attempts < 40, `${row.attempts} attempts`)
  w.advance(3600_000)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 0, gaveUp: 0 }, 'never tried again')
  t.match(await counter(w.app), { gave_up: 1 })
})

t.test('timeouts, refused connections and redirects are failures to retry', async (t) => {
  const w = await webhookWorld(t, { webhooks: { timeoutMs: 300 } })
  const { prisma } = w.db
  const lastError = async () => (await prisma.webhookDelivery.findFirstOrThrow()).lastError

  w.receiver.answer('hang')
  await changeStatus(w.db, w.connectionId, 'connection.revoked', 'revoked', w.now())
  const started = Date.now()
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  t.ok(Date.now() - started < 3000, 'the timeout cut the attempt short')
  t.equal(await lastError(), 'no answer within 300 ms')

  w.receiver.answer(302)
  w.advance(60_000)
  await w.app.webhookSender.deliverDue()
  t.equal(await lastError(), 'receiver answered HTTP 302', 'redirects are not followed')

  const closed = await startReceiver()
  await closed.close()
  await prisma.webhookEndpoint.updateMany({ data: { url: `${closed.url}?token=receiver-token` } })
  w.advance(60_000)
  await w.app.webhookSender.deliverDue()
  t.equal(await lastError(), 'could not reach the receiver (ECONNREFUSED)')
  t.match(w.logs.text, /could not reach the receiver \(ECONNREFUSED\)/, 'the failed attempt is logged')
  t.notMatch(w.logs.text, /receiver-token/, 'the URL (and its query) is not logged')
  t.equal((await prisma.webhookDelivery.findFirstOrThrow()).attempts, 3)

  // a secret whose key left the keyring: a failed attempt like the others, not a delivery stuck under its lease
  await prisma.webhookEndpoint.updateMany({
    data: { url: w.receiver.url, secretEnc: w.app.deps.keyring.encrypt('whsec_x', 'webhook_endpoints|other|secret') },
  })
  w.advance(60_000)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  t.equal(await lastError(), 'the signing secret cannot be decrypted')
  t.equal(w.receiver.received.length, 2, 'nothing unsigned was sent')
})

t.test('two instances share the outbox: every delivery is sent once', async (t) => {
  // one endpoint, so its per-endpoint limit is lifted: this is about two instances sharing the rows
  const webhooks = { perEndpoint: 100 }
  const w = await webhookWorld(t, { instanceId: 'broker-a', webhooks })
  const { app: other } = await build(t, { db: w.db, background: false, instanceId: 'broker-b', now: w.now, webhooks })
  w.receiver.answer(...Array(40).fill({ status: 200, delayMs: 20 }))
  for (let i = 0; i < 40; i++) {
    await changeStatus(w.db, w.connectionId, connectionEventTypes[i % 5] ?? 'connection.created', 's', w.now())
  }
  const [a, b] = await Promise.all([w.app.webhookSender.deliverDue(), other.webhookSender.deliverDue()])
  t.equal(a.delivered + b.delivered, 40)
  t.ok(a.delivered > 0 && b.delivered > 0, `both worked (${a.delivered} + ${b.delivered})`)
  t.equal(w.receiver.received.length, 40)
  t.equal(new Set(w.receiver.received.map((r) => r.headers['webhook-id'])).size, 40, 'no event twice')
})

t.test(
  'the background sender delivers soon after the commit, and close lets an attempt in flight finish',
  async (t) => {
    const w = await webhookWorld(t, { background: true, webhooks: { pollIntervalMs: 50 } })
    await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now())
    await w.receiver.waitFor(1, 5000)

    w.receiver.answer({ status: 200, delayMs: 400 })
    await changeStatus(w.db, w.connectionId, 'connection.revoked', 'revoked', w.now())
    await w.receiver.waitFor(2, 5000)
    await w.app.close()
    const rows = await w.db.prisma.webhookDelivery.findMany({ where: { event: 'connection.revoked' } })
    t.match(rows, [{ status: 'delivered', leaseOwner: null }], 'settled before close returned')
  },
)

t.test('a caller revoked before delivery gets nothing', async (t) => {
  const w = await webhookWorld(t)
  await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now())
  await w.db.prisma.apiClient.update({ where: { id: w.caller.id }, data: { revokedAt: w.now() } })
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 0, gaveUp: 1 })
  t.equal(w.receiver.received.length, 0)
  t.match(await w.db.prisma.webhookDelivery.findFirstOrThrow(), { status: 'failed', lastError: 'caller revoked' })
})
