import type { Db } from '../client.js'
import type { Prisma } from '../generated/client.js'
import { afterTimeId, type TimeIdKey } from '../pagination.js'

// Only these columns are read for the admin's views: the access token's ciphertext is never selected, the refresh
// token's only to say whether there is one.
const summaryColumns = {
  id: true,
  namespace: true,
  providerId: true,
  userId: true,
  status: true,
  grantType: true,
  subject: true,
  scope: true,
  tokenType: true,
  refreshTokenEnc: true,
  expiresAt: true,
  nextRefreshAt: true,
  lastRefreshedAt: true,
  refreshTokenExpiresAt: true,
  failureCount: true,
  lastError: true,
  lastErrorAt: true,
  leaseOwner: true,
  leaseExpiresAt: true,
  createdByClientId: true,
  createdAt: true,
  updatedAt: true,
} satisfies Prisma.ConnectionSelect

export type ConnectionSummary = Prisma.ConnectionGetPayload<{ select: typeof summaryColumns }>

export interface ConnectionFilter {
  namespace?: string | undefined
  provider?: string | undefined
  status?: string | undefined
  userId?: string | undefined
}

/** Up to `limit` connections matching `filter` after `after`, newest first. */
export function listConnectionSummaries(
  db: Db,
  filter: ConnectionFilter,
  { limit, after }: { limit: number; after?: TimeIdKey | undefined },
): Promise<ConnectionSummary[]> {
  return db.prisma.connection.findMany({
    where: {
      namespace: filter.namespace,
      providerId: filter.provider,
      status: filter.status,
      userId: filter.userId,
      ...afterTimeId(after),
    },
    select: summaryColumns,
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: limit,
  })
}

export function findConnectionSummary(db: Db, id: string): Promise<ConnectionSummary | null> {
  return db.prisma.connection.findUnique({ where: { id }, select: summaryColumns })
}

/** How many connections there are in each status: one GROUP BY. */
export async function countConnectionsByStatus(db: Db): Promise<Record<string, number>> {
  // on the driver: every scrape of /metrics asks for it
  const groups = await db.sql.rows<{ status: string; count: number }>({
    name: 'connections_by_status',
    text: 'SELECT status, count(*)::int AS count FROM connections GROUP BY status',
    values: [],
  })
  return Object.fromEntries(groups.map((group) => [group.status, group.count]))
}

export function countProviderConnections(db: Db, providerId: string): Promise<number> {
  return db.prisma.connection.count({ where: { providerId } })
}
