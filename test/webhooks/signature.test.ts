import t from 'tap'
import { nextAttemptAt, RETRY_WINDOW_MS } from '../../src/webhooks/schedule.js'
import { generateSigningSecret, signWebhook } from '../../src/webhooks/signature.js'
import { readmeVerifier } from './verifier.js'

t.test('signatures follow Standard Webhooks and the README procedure verifies them', async (t) => {
  const verify = await readmeVerifier()
  const secret = generateSigningSecret()
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
  const body = JSON.stringify({ id: 'evt_1', type: 'connection.revoked', data: { userId: 'ü' } })
  const now = 1_767_261_600
  const headers = signWebhook(secret, 'evt_1', now, body)
  t.equal(headers['webhook-id'], 'evt_1')
  t.equal(headers['webhook-timestamp'], String(now))
  t.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/)
  t.same(verify(secret, headers, body, { now: now * 1000 }), JSON.parse(body))

  // the signing test vector of the Standard Webhooks libraries
  const vector = signWebhook(
    'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    'msg_p5jXN8AQM9LWM0D4loKWxJek',
    1614265330,
    '{"test": 2432232314}',
  )
  t.equal(vector['webhook-signature'], 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=')

  const at = { now: now * 1000 }
  t.throws(() => verify(secret, headers, body.replace('revoked', 'created'), at), /invalid webhook signature/)
  t.throws(() => verify(generateSigningSecret(), headers, body, at), /invalid webhook signature/)
  t.throws(() => verify(secret, { ...headers, 'webhook-id': 'evt_2' }, body, at), /invalid webhook signature/)
  t.throws(() => verify(secret, headers, body, { now: (now + 301) * 1000 }), /too old/)
  t.throws(() => verify(secret, { ...headers, 'webhook-timestamp': 'x' }, body, at), /missing/)
  const rotated = { ...headers, 'webhook-signature': `v1,bm90IGl0 ${headers['webhook-signature']}` }
  t.ok(verify(secret, rotated, body, at), 'any one of several signatures may match')
})

t.test('retries back off exponentially with jitter, then give up after 24 hours', async (t) => {
  const created = new Date('2026-01-01T00:00:00Z')
  const delay = (attempts: number, random: number, now = created) =>
    (nextAttemptAt(attempts, created, now, () => random) as Date).getTime() - now.getTime()
  t.equal(delay(1, 0.5), 10_000)
  t.equal(delay(2, 0.5), 20_000)
  t.equal(delay(3, 0.5), 40_000)
  t.equal(delay(1, 0), 8_000, 'jitter: -20 %')
  t.equal(delay(1, 1), 12_000, 'jitter: +20 %')
  t.equal(delay(30, 0.5), 3_600_000, 'at most an hour apart')

  const nearDeadline = new Date(created.getTime() + RETRY_WINDOW_MS - 60_000)
  t.equal(delay(12, 0.5, nearDeadline), 60_000, 'the last attempt is at the end of the window')
  t.equal(nextAttemptAt(13, created, new Date(created.getTime() + RETRY_WINDOW_MS)), null, 'then give up')

  // over the whole window: a bounded number of attempts, the last one at the deadline
  let now = created
  let attempts = 0
  for (;;) {
    attempts += 1
    const next = nextAttemptAt(attempts, created, now)
    if (!next) break
    t.ok(next > now)
    now = next
  }
  t.equal(now.getTime(), created.getTime() + RETRY_WINDOW_MS)
  t.ok(attempts > 20 && attempts < 40, `${attempts} attempts in 24 hours`)
})
