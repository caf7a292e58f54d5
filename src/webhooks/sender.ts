import type { Prisma } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { signingSecretContext } from './endpoints.js'
import type { EventPayload } from './outbox.js'
import { nextAttemptAt } from './schedule.js'
import { signWebhook } from './signature.js'
import { TargetRefused } from './targets.js'

export interface WebhookSenderOptions {
  /** Deliveries in flight per instance. */
  concurrency: number
  /** Deliveries in flight to one endpoint, over every instance: a slow receiver holds no more slots than this. */
  perEndpoint: number
  /** How long a receiver may take to answer. */
  timeoutMs: number
  /** Pause between polls when nothing is due. */
  pollIntervalMs: number
  /** Default: the address rule's fetch (deliveries connect only to addresses it allows). */
  fetch: typeof globalThis.fetch
  random: () => number
}

export const defaultSenderOptions: Omit<WebhookSenderOptions, 'fetch'> = {
  concurrency: 8,
  perEndpoint: 2,
  timeoutMs: 10_000,
  pollIntervalMs: 1_000,
  random: Math.random,
}

type SenderDeps = Pick<Deps, 'db' | 'keyring' | 'metrics' | 'now' | 'instanceId' | 'log' | 'webhookTargets'>

interface ClaimedDelivery {
  id: string
  payload: EventPayload
  attempts: number
  createdAt: Date
  endpointId: string
  url: string
  secretEnc: Uint8Array
  callerRevoked: boolean
}

type Outcome = 'delivered' | 'failed' | 'gave_up'

export interface DeliveryPass {
  delivered: number
  failed: number
  gaveUp: number
}

/**
 * Sends due outbox rows. Every instance runs one; a row is claimed with FOR UPDATE SKIP LOCKED and a lease
 * (so no two instances send it at once, and a crashed instance's claim expires), sent outside any transaction,
 * then settled by an update that checks the lease is still ours.
 */
export function createWebhookSender(deps: SenderDeps, overrides: Partial<WebhookSenderOptions> = {}) {
  const options: WebhookSenderOptions = { ...defaultSenderOptions, fetch: deps.webhookTargets.fetch, ...overrides }
  const leaseMs = options.timeoutMs + 30_000
  const { prisma } = deps.db
  const { instanceId } = deps

  async function claim(limit: number): Promise<ClaimedDelivery[]> {
    const now = deps.now()
    const leaseUntil = new Date(now.getTime() + leaseMs)
    // Per endpoint, the deliveries under a live lease (on any instance) and the due ones ranked oldest first fill its
    // `perEndpoint` slots: one slow receiver's backlog cannot take the slots other endpoints' events need. On the
    // driver, not Prisma: every instance polls with it every second, and Prisma's query compiler stays unloaded.
    return deps.db.sql.rows<ClaimedDelivery>({
      name: 'webhook_deliveries_claim',
      text: `
      WITH busy AS (
        SELECT endpoint_id, count(*) AS sending FROM webhook_deliveries
        WHERE status = 'pending' AND lease_expires_at > $1::timestamptz
        GROUP BY endpoint_id
      ), ranked AS (
        SELECT d.id, d.next_attempt_at,
               row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at) + COALESCE(b.sending, 0) AS slot
        FROM webhook_deliveries d LEFT JOIN busy b ON b.endpoint_id = d.endpoint_id
        WHERE d.status = 'pending' AND d.next_attempt_at <= $1::timestamptz
          AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1::timestamptz)
      ), due AS (
        SELECT d.id FROM webhook_deliveries d JOIN ranked r ON r.id = d.id
        WHERE r.slot <= $2::int
          AND d.status = 'pending' AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= $1::timestamptz)
        ORDER BY r.next_attempt_at
        LIMIT $3::int
        FOR UPDATE OF d SKIP LOCKED
      ), claimed AS (
        UPDATE webhook_deliveries d SET lease_owner = $4, lease_expires_at = $5::timestamptz
        FROM due WHERE d.id = due.id
        RETURNING d.id, d.endpoint_id, d.payload, d.attempts, d.created_at
      )
      SELECT c.id, c.payload, c.attempts, c.created_at AS "createdAt", e.id AS "endpointId", e.url,
             e.secret_enc AS "secretEnc", (a.revoked_at IS NOT NULL) AS "callerRevoked"
      FROM claimed c
      JOIN webhook_endpoints e ON e.id = c.endpoint_id
      JOIN api_clients a ON a.id = e.client_id`,
      values: [now, options.perEndpoint, limit, instanceId, leaseUntil],
    })
  }

  /** One HTTP attempt; never throws. The receiver's body is not read: it is not ours to store. */
  async function post(row: ClaimedDelivery): Promise<{ ok: boolean; status?: number; error?: string }> {
    const body = serializeEvent(row.payload)
    let secret: string
    try {
      secret = deps.keyring.decrypt(row.secretEnc, signingSecretContext(row.endpointId))
    } catch {
      // its key left the keyring: retried (and given up on) like any failure, visible in the delivery log
      return { ok: false, error: 'the signing secret cannot be decrypted' }
    }
    const timestamp = Math.floor(deps.now().getTime() / 1000)
    try {
      const res = await options.fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'token-broker-webhooks/1',
          ...signWebhook(secret, row.payload.id, timestamp, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      await res.body?.cancel().catch(() => {})
      return res.status >= 200 && res.status < 300
        ? { ok: true, status: res.status }
        : { ok: false, status: res.status, error: `receiver answered HTTP ${res.status}` }
    } catch (err) {
      return { ok: false, error: describeFailure(err, options.timeoutMs) }
    }
  }

  async function settle(row: ClaimedDelivery, outcome: Outcome, data: Prisma.WebhookDeliveryUpdateManyArgs['data']) {
    const { count } = await prisma.webhookDelivery.updateMany({
      where: { id: row.id, leaseOwner: instanceId },
      data: { ...data, leaseOwner: null, leaseExpiresAt: null },
    })
    // count 0: the endpoint was deleted meanwhile, or our lease expired and another instance took the row
    if (count === 1) deps.metrics.webhookDeliveries.inc({ outcome })
    return outcome
  }

  async function deliver(row: ClaimedDelivery): Promise<Outcome> {
    if (row.callerRevoked) {
      return settle(row, 'gave_up', { status: 'failed', lastError: 'caller revoked', lastStatus: null })
    }
    const result = await post(row)
    const now = deps.now()
    const attempts = row.attempts + 1
    const log = deps.log.child({ deliveryId: row.id, eventId: row.payload.id, endpointId: row.endpointId, attempts })
    if (result.ok) {
      log.debug('webhook delivered')
      return settle(row, 'delivered', {
        status: 'delivered',
        attempts,
        lastStatus: result.status ?? null,
        lastError: null,
        deliveredAt: now,
      })
    }
    const next = nextAttemptAt(attempts, row.createdAt, now, options.random)
    const failure = { attempts, lastStatus: result.status ?? null, lastError: result.error ?? null }
    if (!next) {
      log.warn({ error: result.error }, 'webhook delivery failed for 24 hours: giving up')
      return settle(row, 'gave_up', { ...failure, status: 'failed' })
    }
    log.info({ error: result.error, nextAttemptAt: next }, 'webhook delivery failed: will retry')
    return settle(row, 'failed', { ...failure, nextAttemptAt: next })
  }

  async function deliverSafely(row: ClaimedDelivery): Promise<Outcome | undefined> {
    try {
      return await deliver(row)
    } catch (err) {
      // the lease expires and another pass tries again
      deps.log.error({ err, deliveryId: row.id }, 'webhook delivery could not be settled')
      return undefined
    }
  }

  /** Sends everything due now and waits for it; for tests and for draining. */
  async function deliverDue(): Promise<DeliveryPass> {
    const pass: DeliveryPass = { delivered: 0, failed: 0, gaveUp: 0 }
    for (;;) {
      const rows = await claim(options.concurrency)
      if (rows.length === 0) return pass
      for (const outcome of await Promise.all(rows.map(deliverSafely))) {
        if (outcome === 'delivered') pass.delivered += 1
        else if (outcome === 'failed') pass.failed += 1
        else if (outcome === 'gave_up') pass.gaveUp += 1
      }
    }
  }

  let running: { stop: AbortController; loop: Promise<void> } | undefined
  const inFlight = new Set<Promise<unknown>>()

  async function loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const free = options.concurrency - inFlight.size
      let pauseMs = options.pollIntervalMs
      try {
        if (free > 0) {
          const rows = await claim(free)
          for (const row of rows) {
            const sending = deliverSafely(row).finally(() => inFlight.delete(sending))
            inFlight.add(sending)
          }
          // a full claim: more may be due, so claim again as soon as a slot is free
          if (rows.length === free) pauseMs = 0
        }
      } catch (err) {
        deps.log.warn({ err }, 'claiming webhook deliveries failed')
        pauseMs = Math.max(options.pollIntervalMs, 5_000)
      }
      await pause(pauseMs, signal, [...inFlight])
    }
  }

  return {
    deliverDue,

    start(): void {
      if (running) return
      const stop = new AbortController()
      running = { stop, loop: loop(stop.signal) }
    },

    /** Stops polling, lets the deliveries in flight finish, and hands back any lease still ours. */
    async stop(): Promise<void> {
      if (!running) return
      running.stop.abort()
      await running.loop
      await Promise.allSettled([...inFlight])
      running = undefined
      await deps.db.sql
        .rows({
          text: `UPDATE webhook_deliveries SET lease_owner = NULL, lease_expires_at = NULL
            WHERE lease_owner = $1 AND status = 'pending'`,
          values: [instanceId],
        })
        .catch((err: unknown) => deps.log.warn({ err }, 'releasing webhook leases failed'))
    },
  }
}

export type WebhookSender = ReturnType<typeof createWebhookSender>

/** Waits `ms`, or less when `signal` aborts or one of `wakeUps` settles; leaves no timer or listener behind. */
async function pause(ms: number, signal: AbortSignal, wakeUps: Promise<unknown>[]): Promise<void> {
  if (signal.aborted) return
  let onAbort = () => {}
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      ...wakeUps,
      new Promise<void>((resolve) => {
        onAbort = resolve
        timer = setTimeout(resolve, ms)
        signal.addEventListener('abort', onAbort, { once: true })
      }),
    ])
  } finally {
    clearTimeout(timer)
    signal.removeEventListener('abort', onAbort)
  }
}

/** The body: the event's fields in a readable order (the outbox's JSONB column does not keep key order). */
function serializeEvent({ id, type, createdAt, data }: EventPayload): string {
  const { connectionId, namespace, provider, userId, status, ...detail } = data
  return JSON.stringify({
    id,
    type,
    createdAt,
    data: { connectionId, namespace, provider, userId, status, ...detail },
  })
}

// What went wrong, in words that never include the URL (it may carry a receiver's token in its query).
function describeFailure(err: unknown, timeoutMs: number): string {
  const cause = (err as { cause?: unknown })?.cause
  if (cause instanceof TargetRefused) return `refused: ${cause.message}`
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`
  }
  const code = (err as { cause?: { code?: unknown } })?.cause?.code
  if (typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code)) return `could not reach the receiver (${code})`
  return 'could not reach the receiver'
}
