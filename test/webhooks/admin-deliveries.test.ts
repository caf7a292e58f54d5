import t from 'tap'
import { ADMIN_TOKEN } from '../helper.js'
import { createCaller } from '../support/fixtures.js'
import { changeStatus } from './fixtures.js'
import type { Received } from './receiver.js'
import { webhookWorld } from './world.js'

const headers = { authorization: `Bearer ${ADMIN_TOKEN}` }

t.test('the admin lists deliveries newest first, by caller and status, a page at a time', async (t) => {
  const w = await webhookWorld(t)
  const other = await createCaller(w.app, { allowedProviders: ['acme'], name: 'support' })
  await w.app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: { authorization: `Bearer ${other.apiKey}` },
    payload: { url: `${w.receiver.url}/support`, events: ['connection.revoked'] },
  })
  w.receiver.answer(204, 500)
  await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now())
  w.advance(1000)
  await changeStatus(w.db, w.connectionId, 'connection.refresh_failed', 'active', w.now())
  w.advance(1000)
  await changeStatus(w.db, w.connectionId, 'connection.revoked', 'revoked', w.now())
  await w.app.webhookSender.deliverDue()

  const list = async (query: string) => {
    const res = await w.app.inject({ method: 'GET', url: `/admin/webhook-deliveries${query}`, headers })
    t.equal(res.statusCode, 200, query)
    return res.json() as { items: Array<Record<string, unknown>>; nextCursor: string | null }
  }
  const all = await list('')
  t.same(
    all.items.map((d) => d.event),
    ['connection.revoked', 'connection.revoked', 'connection.refresh_failed', 'connection.created'],
  )
  t.equal(all.nextCursor, null)
  const failed = all.items.find((d) => d.event === 'connection.refresh_failed')
  t.match(failed, {
    clientId: w.caller.id,
    url: w.receiver.url,
    status: 'pending',
    attempts: 1,
    lastStatus: 500,
    lastError: 'receiver answered HTTP 500',
    nextAttemptAt: String,
    deliveredAt: null,
    payload: { type: 'connection.refresh_failed', data: { connectionId: w.connectionId } },
  })
  t.equal(failed?.eventId, (failed?.payload as { id: string }).id)

  t.same(
    (await list(`?clientId=${other.id}`)).items.map((d) => d.event),
    ['connection.revoked'],
  )
  t.same(
    (await list('?status=pending')).items.map((d) => d.event),
    ['connection.refresh_failed'],
  )
  t.equal((await list(`?status=delivered&clientId=${w.caller.id}`)).items.length, 2)

  const seen: unknown[] = []
  let cursor: string | null = null
  do {
    const page = await list(`?limit=1${cursor ? `&cursor=${cursor}` : ''}`)
    t.ok(page.items.length <= 1)
    seen.push(...page.items.map((d) => d.id))
    cursor = page.nextCursor
  } while (cursor)
  t.same(
    seen,
    all.items.map((d) => d.id),
    'pages cover the list once, in order',
  )

  for (const query of ['?limit=501', '?limit=0', '?status=lost', '?clientId=x', '?cursor=nope']) {
    const res = await w.app.inject({ method: 'GET', url: `/admin/webhook-deliveries${query}`, headers })
    t.equal(res.statusCode, 400, query)
    t.equal(res.json().error, 'invalid_request')
  }
  const anonymous = await w.app.inject({ method: 'GET', url: '/admin/webhook-deliveries' })
  t.equal(anonymous.statusCode, 401)
  const asCaller = await w.app.inject({
    method: 'GET',
    url: '/admin/webhook-deliveries',
    headers: { authorization: `Bearer ${w.caller.apiKey}` },
  })
  t.equal(asCaller.statusCode, 401)
})

t.test('redeliver sends an event again with the same webhook-id', async (t) => {
  const w = await webhookWorld(t)
  const { prisma } = w.db
  await changeStatus(w.db, w.connectionId, 'connection.reauthorization_required', 'reauthorization_required', w.now())
  await w.app.webhookSender.deliverDue()
  const original = await prisma.webhookDelivery.findFirstOrThrow()
  t.equal(original.status, 'delivered')
  const first = w.verified(w.receiver.received[0] as Received)

  w.advance(3600_000)
  const res = await w.app.inject({
    method: 'POST',
    url: `/admin/webhook-deliveries/${original.id}/redeliver`,
    headers,
  })
  t.equal(res.statusCode, 202)
  const redelivery = res.json()
  t.not(redelivery.id, original.id, 'a delivered event gets a new delivery')
  t.match(redelivery, { status: 'pending', attempts: 0, eventId: (original.payload as { id: string }).id })
  t.equal(redelivery.createdAt, w.now().toISOString())

  await w.app.webhookSender.deliverDue()
  t.equal(w.receiver.received.length, 2)
  t.same(w.verified(w.receiver.received[1] as Received), first, 'the same event, freshly signed')
  t.same(
    w.receiver.received.map((r) => r.headers['webhook-id']),
    [first.id, first.id],
  )
  t.match(await prisma.webhookDelivery.findUniqueOrThrow({ where: { id: original.id } }), {
    status: 'delivered',
    attempts: 1,
  })

  // a pending delivery waiting for its next attempt is made due now instead of copied
  w.receiver.answer(500)
  await changeStatus(w.db, w.connectionId, 'connection.revoked', 'revoked', w.now())
  await w.app.webhookSender.deliverDue()
  const waiting = await prisma.webhookDelivery.findFirstOrThrow({ where: { event: 'connection.revoked' } })
  t.ok(waiting.nextAttemptAt > w.now())
  const again = await w.app.inject({
    method: 'POST',
    url: `/admin/webhook-deliveries/${waiting.id}/redeliver`,
    headers,
  })
  t.equal(again.statusCode, 202)
  t.equal(again.json().id, waiting.id)
  t.equal(again.json().nextAttemptAt, w.now().toISOString())
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 1, failed: 0, gaveUp: 0 })
  t.equal(await prisma.webhookDelivery.count(), 3)

  const audit = await prisma.auditEvent.findMany({ where: { action: 'webhook.redelivered' } })
  t.equal(audit.length, 2)

  const missing = await w.app.inject({
    method: 'POST',
    url: '/admin/webhook-deliveries/00000000-0000-4000-8000-000000000000/redeliver',
    headers,
  })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().error, 'not_found')
})
