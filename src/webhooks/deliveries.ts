import { recordAudit } from '../db/audit.js'
import type { Database } from '../db/client.js'
import type { Prisma } from '../db/generated/client.js'
import { afterTimeId, timeIdCursor, limitOf, toPage, type Page, type PageRequest } from '../db/pagination.js'
import { notFound } from '../errors.js'
import { isUuid } from '../schemas/ids.js'
import type { DeliveryStatus, DeliveryView } from '../schemas/webhook.js'
import type { EventPayload } from './outbox.js'

export interface DeliveryFilter {
  clientId?: string
  status?: DeliveryStatus
}

const withEndpoint = { endpoint: { select: { clientId: true, url: true } } } as const
type DeliveryRow = Prisma.WebhookDeliveryGetPayload<{ include: typeof withEndpoint }>

/** A delivery as the admin sees it; the payload is shown because it never holds a secret. */
function view(row: DeliveryRow): DeliveryView {
  const payload = row.payload as EventPayload
  return {
    id: row.id,
    eventId: payload.id,
    event: payload.type,
    clientId: row.endpoint.clientId,
    endpointId: row.endpointId,
    url: row.endpoint.url,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt : null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: row.createdAt,
    deliveredAt: row.deliveredAt,
    payload,
  }
}

/** Delivered and failed deliveries are deleted this many at a time, so one pass never holds the table long. */
export const PRUNE_BATCH = 1_000

export function createWebhookDeliveries({
  db,
  now,
  config,
}: {
  db: Database
  now: () => Date
  config: { DELIVERY_RETENTION_DAYS: number }
}) {
  return {
    /**
     * Deletes delivered and failed deliveries older than DELIVERY_RETENTION_DAYS, at most PRUNE_BATCH of them; returns
     * how many. Pending ones are kept whatever their age: they are still being tried.
     */
    async prune(): Promise<number> {
      const before = new Date(now().getTime() - config.DELIVERY_RETENTION_DAYS * 86_400_000)
      const [row] = await db.sql.rows<{ count: number }>({
        name: 'webhook_deliveries_prune',
        text: `WITH gone AS (
            DELETE FROM webhook_deliveries WHERE id IN (
              SELECT id FROM webhook_deliveries
              WHERE status IN ('delivered', 'failed') AND created_at < $1::timestamptz
              ORDER BY created_at LIMIT $2::int)
            RETURNING 1)
          SELECT count(*)::int AS count FROM gone`,
        values: [before, PRUNE_BATCH],
      })
      return row?.count ?? 0
    },

    /** Deliveries not yet delivered nor given up, and how long the oldest has waited: the backlog alert's input. */
    async backlog(): Promise<{ pending: number; oldestAgeSeconds: number }> {
      const [found] = await db.sql.rows<{ pending: number; oldest: Date | null }>({
        name: 'webhook_deliveries_backlog',
        text: `SELECT count(*)::int AS pending, min(created_at) AS oldest FROM webhook_deliveries WHERE status = 'pending'`,
        values: [],
      })
      const oldest = found?.oldest ?? null
      const oldestAgeSeconds = oldest ? Math.max(0, (now().getTime() - oldest.getTime()) / 1000) : 0
      return { pending: found?.pending ?? 0, oldestAgeSeconds }
    },

    /** Newest first. */
    async list(filter: DeliveryFilter, page: PageRequest): Promise<Page<DeliveryView>> {
      const where: Prisma.WebhookDeliveryWhereInput = {
        ...afterTimeId(page.cursor === undefined ? undefined : timeIdCursor.decode(page.cursor)),
      }
      if (filter.status) where.status = filter.status
      if (filter.clientId) where.endpoint = { clientId: filter.clientId }
      const rows = await db.prisma.webhookDelivery.findMany({
        where,
        include: withEndpoint,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limitOf(page) + 1,
      })
      return toPage(rows, limitOf(page), view, timeIdCursor.keyOf)
    },

    /**
     * Sends the event again with the same `webhook-id`. A pending delivery is made due now; a delivered or
     * failed one gets a new delivery, with a fresh 24-hour retry window, and keeps its own history.
     */
    async redeliver(id: string): Promise<DeliveryView> {
      if (!isUuid(id)) throw notFound('delivery')
      return db.transaction(async (tx) => {
        const original = await tx.prisma.webhookDelivery.findUnique({ where: { id }, include: withEndpoint })
        if (!original) throw notFound('delivery')
        const at = now()
        const row =
          original.status === 'pending'
            ? await tx.prisma.webhookDelivery.update({
                where: { id },
                data: { nextAttemptAt: at },
                include: withEndpoint,
              })
            : await tx.prisma.webhookDelivery.create({
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
