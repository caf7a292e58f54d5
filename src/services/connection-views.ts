import type { DbClient } from '../db/client.js'
import type { Prisma } from '../db/generated/client.js'
import { invalidRequest, notFound } from '../errors.js'
import { decodeCursor, toPage, type Page } from './pagination.js'

/** What the admin API shows of a connection: state and timing, never a token. */
export interface ConnectionView {
  id: string
  provider: string
  userId: string
  status: string
  subject: string | null
  scope: string | null
  tokenType: string
  hasRefreshToken: boolean
  expiresAt: Date | null
  nextRefreshAt: Date | null
  lastRefreshedAt: Date | null
  failureCount: number
  lastError: string | null
  lastErrorAt: Date | null
  lease: { owner: string; expiresAt: Date | null } | null
  createdByClientId: string | null
  createdAt: Date
  updatedAt: Date
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// Only these columns are read: the access token's ciphertext is never selected, the refresh token's only
// to say whether there is one.
const columns = {
  id: true,
  providerId: true,
  userId: true,
  status: true,
  subject: true,
  scope: true,
  tokenType: true,
  refreshTokenEnc: true,
  expiresAt: true,
  nextRefreshAt: true,
  lastRefreshedAt: true,
  failureCount: true,
  lastError: true,
  lastErrorAt: true,
  leaseOwner: true,
  leaseExpiresAt: true,
  createdByClientId: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.ConnectionSelect

type ConnectionColumns = Prisma.ConnectionGetPayload<{ select: typeof columns }>

function toView({
  providerId,
  refreshTokenEnc,
  leaseOwner,
  leaseExpiresAt,
  ...row
}: ConnectionColumns): ConnectionView {
  return {
    ...row,
    provider: providerId,
    hasRefreshToken: refreshTokenEnc !== null,
    lease: leaseOwner ? { owner: leaseOwner, expiresAt: leaseExpiresAt } : null,
  }
}

export interface ConnectionFilter {
  provider?: string
  status?: string
  userId?: string
}

/** Connections matching `filter`, newest first. */
export async function listConnections(
  db: DbClient,
  filter: ConnectionFilter,
  { limit, cursor }: { limit: number; cursor?: string },
): Promise<Page<ConnectionView>> {
  const where: Prisma.ConnectionWhereInput = {
    providerId: filter.provider,
    status: filter.status,
    userId: filter.userId,
  }
  if (cursor) {
    const [createdAt, id] = decodeCursor(cursor, 2) as [string, string]
    const after = new Date(createdAt)
    if (Number.isNaN(after.getTime()) || !UUID.test(id)) throw invalidRequest('invalid cursor')
    where.OR = [{ createdAt: { lt: after } }, { createdAt: after, id: { lt: id } }]
  }
  const rows = await db.connection.findMany({
    where,
    select: columns,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit + 1,
  })
  return toPage(rows, limit, toView, (row) => [row.createdAt.toISOString(), row.id])
}

export async function getConnectionView(db: DbClient, id: string): Promise<ConnectionView> {
  if (!UUID.test(id)) throw notFound('connection')
  const row = await db.connection.findUnique({ where: { id }, select: columns })
  if (!row) throw notFound('connection')
  return toView(row)
}

/** How many connections there are in each status: one GROUP BY. */
export async function countConnectionsByStatus(db: DbClient): Promise<Record<string, number>> {
  const groups = await db.connection.groupBy({ by: ['status'], _count: { _all: true } })
  return Object.fromEntries(groups.map((group) => [group.status, group._count._all]))
}
