import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build } from '../helper.js'
import { changeStatus } from './fixtures.js'
import { webhookWorld, type World } from './world.js'

const brokerProcess = fileURLToPath(new URL('./broker-process.ts', import.meta.url))

/** Runs broker-process.ts, waits until it has committed, lets `beforeKill` run, then SIGKILLs it. */
async function runAndKill(w: World, mode: 'send' | 'idle', beforeKill: () => Promise<unknown>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', brokerProcess, mode, w.db.url, w.connectionId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)))
  try {
    await new Promise<void>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8')
        if (out.includes('committed 1\n')) resolve()
      })
      child.once('exit', (code) => reject(new Error(`broker process exited early (${code}): ${out}`)))
    })
    await beforeKill()
  } finally {
    child.kill('SIGKILL')
  }
  if ((await exited) !== 'SIGKILL') throw new Error('the broker process was not killed')
}

// the broker process runs on the real clock: so do these tests
const now = () => new Date()

t.test('killed after the commit, before sending: the event is delivered after a restart', async (t) => {
  const w = await webhookWorld(t, { now })
  await runAndKill(w, 'idle', async () => {})
  t.match(await w.db.prisma.webhookDelivery.findMany(), [{ status: 'pending', attempts: 0, leaseOwner: null }])
  t.equal(w.receiver.received.length, 0)

  const restarted = await build(t, { db: w.db, now, webhooks: { pollIntervalMs: 20 } })
  const [request] = await w.receiver.waitFor(1)
  t.match(request && w.verified(request), { type: 'connection.reauthorization_required' })
  await restarted.app.close()
  t.match(await w.db.prisma.webhookDelivery.findMany(), [{ status: 'delivered', attempts: 1 }])
})

t.test('killed while sending: once its lease expires another instance sends the event again', async (t) => {
  const w = await webhookWorld(t, { now })
  w.receiver.answer('hang')
  await runAndKill(w, 'send', () => w.receiver.waitFor(1))
  const [claimed] = await w.db.prisma.webhookDelivery.findMany()
  t.match(claimed, { status: 'pending', attempts: 0, leaseOwner: 'doomed-instance' }, 'left leased by the dead one')

  const survivor = await build(t, { db: w.db, background: false, now })
  t.same(await survivor.app.webhookSender.deliverDue(), { delivered: 0, failed: 0, gaveUp: 0 }, 'not while leased')
  const later = await build(t, {
    db: w.db,
    background: false,
    now: () => new Date((claimed?.leaseExpiresAt as Date).getTime() + 1000),
  })
  t.same(await later.app.webhookSender.deliverDue(), { delivered: 1, failed: 0, gaveUp: 0 })
  const [first, second] = w.receiver.received
  t.equal(w.receiver.received.length, 2)
  t.equal(first?.headers['webhook-id'], second?.headers['webhook-id'], 'same webhook-id: the receiver can dedupe')
  t.equal(first?.body, second?.body)
  const verify = await import('./verifier.js').then((m) => m.readmeVerifier())
  for (const request of [first, second]) {
    const headers = request?.headers as Record<string, string>
    t.ok(verify(w.secret, headers, request?.body ?? '', { now: Number(headers['webhook-timestamp']) * 1000 }))
  }
})

t.test('in process: an app that wrote the event and closed without sending it; the next one sends it', async (t) => {
  const w = await webhookWorld(t)
  await changeStatus(w.db, w.connectionId, 'connection.revoked', 'revoked', w.now())
  await w.app.close()
  const next = await build(t, { db: w.db, now: w.now, webhooks: { pollIntervalMs: 20 } })
  await w.receiver.waitFor(1)
  await next.app.close()
  t.match(await w.db.prisma.webhookDelivery.findMany(), [{ status: 'delivered' }])
})
