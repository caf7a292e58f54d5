import type { Db } from '../db/client.js'
import type { Prisma } from '../db/generated/client.js'
import { notFound } from '../errors.js'
import { recordAudit } from '../services/audit.js'
import { decodeCursor, toPage, type Page } from '../services/pagination.js'
import type { EventPayload } from './outbox.js'

export const deliveryStatuses = ['pending', 'delivered', 'failed'] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]

/** A delivery as the admin sees it; the payload is shown because it never holds a secret. */
export interface DeliveryView {
  id: string
  eventId: string
  event: string
  clientId: string
  endpointId: string
  url: string
  status: string
  attempts: number
  nextAttemptAt: Date | null
  lastStatus: number | null
  lastError: string | null
  createdAt: Date
  deliveredAt: Date | null
  payload: EventPayload
}

export interface DeliveryFilter {
  clientId?: string
  status?: DeliveryStatus
}

const withEndpoint = { endpoint: { select: { clientId: true, url: true } } } as const
type DeliveryRow = Prisma.WebhookDeliveryGetPayload<{ include: typeof withEndpoint }>

function view(row: DeliveryRow): DeliveryView {
  const payload = row.payload as EventPayload
  return {
    id: row.id,
    eventId: payload.id,
    event: row.event,
    clientId: row.endpoint.clientId,
    endpointId: row.endpointId,
    url: row.endpoint.url,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt : null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
    payload,
  }
}

export function createWebhookDeliveries({ prisma, now }: { prisma: Db; now: () => Date }) {
  return {
    /** Newest first. */
    async list(filter: DeliveryFilter, page: { limit: number; cursor?: string }): Promise<Page<DeliveryView>> {
      const where: Prisma.WebhookDeliveryWhereInput = {}
      if (filter.status) where.status = filter.status
      if (filter.clientId) where.endpoint = { clientId: filter.clientId }
      if (page.cursor) {
        const [createdAt, id] = decodeCursor(page.cursor, 2) as [string, string]
        const at = new Date(createdAt)
        where.OR = [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: id } }]
      }
      const rows = await prisma.webhookDelivery.findMany({
        where,
        include: withEndpoint,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: page.limit + 1,
      })
      return toPage(rows, page.limit, view, (row) => [row.createdAt.toISOString(), row.id])
    },

    /**
     * Sends the event again with the same `webhook-id`. A pending delivery is made due now; a delivered or
     * failed one gets a new delivery, with a fresh 24-hour retry window, and keeps its own history.
     */
    async redeliver(id: string): Promise<DeliveryView> {
      return prisma.$transaction(async (tx) => {
        const original = await tx.webhookDelivery.findUnique({ where: { id }, include: withEndpoint })
        if (!original) throw notFound('delivery')
        const at = now()
        const row =
          original.status === 'pending'
            ? await tx.webhookDelivery.update({ where: { id }, data: { nextAttemptAt: at }, include: withEndpoint })
            : await tx.webhookDelivery.create({
                data: {
                  endpointId: original.endpointId,
                  event: original.event,
                  payload: original.payload as Prisma.InputJsonValue,
                  createdAt: at,
                  nextAttemptAt: at,
                },
                include: withEndpoint,
              })
        await recordAudit(tx, {
          actor: 'admin',
          action: 'webhook.redelivered',
          subjectType: 'webhook',
          subjectId: original.endpointId,
          detail: { deliveryId: original.id, redeliveryId: row.id, eventId: (original.payload as EventPayload).id },
        })
        return view(row)
      })
    },
  }
}

export type WebhookDeliveries = ReturnType<typeof createWebhookDeliveries>
