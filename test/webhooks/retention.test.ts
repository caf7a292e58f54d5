// Delivered and failed webhook deliveries are deleted DELIVERY_RETENTION_DAYS after they were created, by the
// scheduler's tick, at most PRUNE_BATCH per tick; pending ones are kept whatever their age.
import t from 'tap'
import { PRUNE_BATCH } from '../../src/webhooks/deliveries.js'
import { build } from '../helper.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'

const now = new Date('2026-06-01T10:00:00.000Z')
const { app, db } = await build(t, { background: false, now: () => now, config: { DELIVERY_RETENTION_DAYS: 14 } })
const caller = await createCaller(app)
const registered = await app.inject({
  method: 'PUT',
  url: `/admin/clients/${caller.id}/webhook`,
  headers: adminHeaders,
  payload: { url: 'http://127.0.0.1:9/hook' },
})
t.equal(registered.statusCode, 201)
const endpointId = (registered.json() as { id: string }).id
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000)

async function deliveries(status: string, createdAt: Date, count = 1, event = 'connection.created') {
  await db.prisma.webhookDelivery.createMany({
    data: Array.from({ length: count }, () => ({
      endpointId,
      event,
      payload: { id: 'e', type: event },
      status,
      createdAt,
      nextAttemptAt: createdAt,
      ...(status === 'delivered' ? { deliveredAt: createdAt } : {}),
    })),
  })
}

t.test('old delivered and failed deliveries go; recent ones and pending ones stay', async (t) => {
  await deliveries('delivered', daysAgo(15), 2)
  await deliveries('failed', daysAgo(20))
  await deliveries('pending', daysAgo(30), 1, 'connection.revoked')
  await deliveries('delivered', daysAgo(13), 1, 'connection.recovered')
  await deliveries('failed', daysAgo(1), 1, 'connection.recovered')
  await app.scheduler.tick()
  const left = await db.prisma.webhookDelivery.findMany({ select: { status: true, event: true } })
  t.same(left.map((row) => `${row.status} ${row.event}`).sort(), [
    'delivered connection.recovered',
    'failed connection.recovered',
    'pending connection.revoked',
  ])
})

t.test('one tick deletes a bounded batch; the next ones the rest', async (t) => {
  await db.prisma.webhookDelivery.deleteMany({})
  await deliveries('delivered', daysAgo(40), PRUNE_BATCH + 5)
  await app.scheduler.tick()
  t.equal(await db.prisma.webhookDelivery.count(), 5)
  await app.scheduler.tick()
  t.equal(await db.prisma.webhookDelivery.count(), 0)
})
