import { randomUUID } from 'node:crypto'
import type { Db } from '../db/client.js'

import type { ConnectionEventType } from '../schemas/webhook.js'

export interface ConnectionEvent {
  type: ConnectionEventType
  connectionId: string
  namespace: string
  providerId: string
  userId: string
  status: string
  /** Identifiers and error codes only: never a token. */
  detail?: Record<string, string | number | boolean | null>
}

/** The body of every delivery of one event; `id` is the idempotency key (the `webhook-id` header). */
export type EventPayload = {
  id: string
  type: ConnectionEventType
  createdAt: string
  data: Record<string, string | number | boolean | null> & {
    connectionId: string
    namespace: string
    provider: string
    userId: string
    status: string
  }
}

// Detail keys that could hold a credential are dropped whatever their value: a payload leaves the broker.
const SECRET_KEY =
  /token|secret|password|passwd|credential|verifier|assertion|authorization|cookie|api_?key|^(code|state|nonce)$/i
const MAX_DETAIL_KEYS = 16
const MAX_DETAIL_STRING = 200

function safeDetail(detail: ConnectionEvent['detail']): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {}
  for (const [key, value] of Object.entries(detail ?? {}).slice(0, MAX_DETAIL_KEYS)) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(key) || SECRET_KEY.test(key)) continue
    if (typeof value === 'string') out[key] = value.slice(0, MAX_DETAIL_STRING)
    else if (value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))
      out[key] = value
  }
  return out
}

export function eventPayload(eventId: string, event: ConnectionEvent, at: Date): EventPayload {
  return {
    id: eventId,
    type: event.type,
    createdAt: at.toISOString(),
    data: {
      ...safeDetail(event.detail),
      connectionId: event.connectionId,
      namespace: event.namespace,
      provider: event.providerId,
      userId: event.userId,
      status: event.status,
    },
  }
}

/**
 * Writes one delivery per subscribed endpoint into the outbox. Call it inside the transaction that makes the
 * state change, so the event exists exactly when the change does; `at` is `deps.now()`.
 *
 * Audience: every caller of the connection's namespace that is not revoked and is allowed its provider, the same set
 * of callers that may read the connection's token (the callers of a namespace share its connections).
 */
export async function emitConnectionEvent(tx: Db, event: ConnectionEvent, at: Date): Promise<number> {
  const endpoints = await tx.prisma.webhookEndpoint.findMany({
    where: {
      events: { has: event.type },
      client: { revokedAt: null, namespace: event.namespace, allowedProviders: { has: event.providerId } },
    },
    select: { id: true },
  })
  if (endpoints.length === 0) return 0
  const payload = eventPayload(randomUUID(), event, at)
  await tx.prisma.webhookDelivery.createMany({
    data: endpoints.map((endpoint) => ({
      endpointId: endpoint.id,
      event: event.type,
      payload,
      nextAttemptAt: at,
      createdAt: at,
    })),
  })
  return endpoints.length
}
