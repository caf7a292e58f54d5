// One slow receiver degrades only itself: its deliveries hold at most `perEndpoint` of the sender's slots, so another
// caller's event is delivered at once although the slow receiver's backlog is older and larger than the slots.
import t from 'tap'
import { createCaller, createProvider, seedConnection } from '../support/fixtures.js'
import { changeStatus } from '../webhooks/fixtures.js'
import { startReceiver } from '../webhooks/receiver.js'
import { webhookWorld } from '../webhooks/world.js'

t.test('a hanging receiver beside a healthy one: the healthy one is served at once', async (t) => {
  const w = await webhookWorld(t, {
    now: () => new Date(),
    background: true,
    webhooks: { pollIntervalMs: 50, timeoutMs: 8_000, concurrency: 8, perEndpoint: 2 },
  })
  const slow = await startReceiver('/slow')
  t.teardown(() => slow.close())
  await createProvider(w.app, { id: 'globex' })
  const slowCaller = await createCaller(w.app, { allowedProviders: ['globex'], name: 'slow' })
  const registered = await w.app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: slowCaller.headers,
    payload: { url: slow.url },
  })
  t.equal(registered.statusCode, 201)
  const { id: slowConnection } = await seedConnection(w.app, { providerId: 'globex', userId: 'user-slow' })

  // ten events for the slow receiver, more than the sender has slots, all older than the healthy caller's event
  slow.answer(...Array.from({ length: 10 }, () => 'hang' as const))
  for (let i = 0; i < 10; i++) {
    t.equal(await changeStatus(w.db, slowConnection, 'connection.refresh_failed', 'active', new Date()), 1)
  }
  await slow.waitFor(2, 5_000)
  const emittedAt = Date.now()
  t.equal(await changeStatus(w.db, w.connectionId, 'connection.created', 'active', new Date()), 1)
  const [healthy] = await w.receiver.waitFor(1, 5_000)
  const waitedMs = (healthy?.at ?? Infinity) - emittedAt
  t.ok(waitedMs < 2_000, `the healthy receiver got its event ${waitedMs} ms after it happened`)
  t.equal(slow.received.length, 2, 'the hanging receiver holds two slots, not all eight')
})
