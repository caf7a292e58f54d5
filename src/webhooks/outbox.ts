import { randomUUID } from 'node:crypto'
import type { DbClient } from '../db/client.js'

export const connectionEventTypes = [
  'connection.created',
  'connection.refresh_failed',
  'connection.reauthorization_required',
  'connection.recovered',
  'connection.revoked',
] as const

export type ConnectionEventType = (typeof connectionEventTypes)[number]

export interface ConnectionEvent {
  type: ConnectionEventType
  connectionId: string
  providerId: string
  userId: string
  status: string
  /** Identifiers and error codes only: never a token. */
  detail?: Record<string, string | number | boolean | null>
}

/**
 * Writes one delivery per subscribed endpoint into the outbox. Call it inside the transaction that makes the
 * state change, so the event exists exactly when the change does.
 */
export async function emitConnectionEvent(tx: DbClient, event: ConnectionEvent, at = new Date()): Promise<number> {
  const endpoints = await tx.webhookEndpoint.findMany({
    where: {
      events: { has: event.type },
      client: { revokedAt: null, allowedProviders: { has: event.providerId } },
    },
    select: { id: true },
  })
  if (endpoints.length === 0) return 0
  const eventId = randomUUID()
  const payload = {
    id: eventId,
    type: event.type,
    createdAt: at.toISOString(),
    data: {
      connectionId: event.connectionId,
      provider: event.providerId,
      userId: event.userId,
      status: event.status,
      ...(event.detail ?? {}),
    },
  }
  await tx.webhookDelivery.createMany({
    data: endpoints.map((endpoint) => ({ endpointId: endpoint.id, event: event.type, payload, nextAttemptAt: at })),
  })
  return endpoints.length
}
