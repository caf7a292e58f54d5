import type { DbClient } from './client.js'
import { Prisma, type Connection, type Provider } from './generated/client.js'

// A lease marks the one process allowed to refresh a connection, until `lease_expires_at`. Every write made
// under a lease is checked against its owner, so a process whose lease was taken over cannot overwrite the
// newer tokens. Times come from the caller's clock, never from SQL now(), so one clock rules leases and expiry.

export type ConnectionWithProvider = Connection & { provider: Provider }

export interface LeaseTerms {
  /** Unique per acquisition: two refreshes in one process never share an owner. */
  owner: string
  now: Date
  until: Date
}

/** Takes the lease of one connection when it is free or expired; the row as it is once leased, else null. */
export async function takeLease(db: DbClient, id: string, terms: LeaseTerms): Promise<ConnectionWithProvider | null> {
  const { count } = await db.connection.updateMany({
    where: { id, OR: [{ leaseOwner: null }, { leaseExpiresAt: { lt: terms.now } }] },
    data: { leaseOwner: terms.owner, leaseExpiresAt: terms.until },
  })
  if (count === 0) return null
  return findLeased(db, id, terms.owner)
}

/** The connection, if `owner` still holds its lease. */
export function findLeased(db: DbClient, id: string, owner: string): Promise<ConnectionWithProvider | null> {
  return db.connection.findFirst({ where: { id, leaseOwner: owner }, include: { provider: true } })
}

export async function releaseLease(db: DbClient, id: string, owner: string): Promise<boolean> {
  const { count } = await db.connection.updateMany({
    where: { id, leaseOwner: owner },
    data: { leaseOwner: null, leaseExpiresAt: null },
  })
  return count > 0
}

export interface ClaimedConnection {
  id: string
  nextRefreshAt: Date
}

export type ClaimTerms = LeaseTerms & { limit: number; exclude: readonly string[] }

/**
 * Leases up to `limit` active connections whose refresh is due, oldest first, in one statement: rows another
 * instance is claiming at the same moment are skipped (SKIP LOCKED), and rows under a live lease are not due.
 */
export async function claimDueConnections(db: DbClient, terms: ClaimTerms): Promise<ClaimedConnection[]> {
  const rows = await db.$queryRaw<Array<{ id: string; next_refresh_at: Date }>>(claimDueConnectionsSql(terms))
  return rows.map((row) => ({ id: row.id, nextRefreshAt: new Date(row.next_refresh_at) }))
}

/** The claim statement itself, so the benchmark times and explains exactly what the scheduler runs. */
export function claimDueConnectionsSql(terms: ClaimTerms): Prisma.Sql {
  return Prisma.sql`
    WITH due AS (
      SELECT id FROM connections
      WHERE status = 'active'
        AND next_refresh_at <= ${terms.now}::timestamptz
        AND (lease_owner IS NULL OR lease_expires_at < ${terms.now}::timestamptz)
        AND NOT (id = ANY(${[...terms.exclude]}::uuid[]))
      ORDER BY next_refresh_at
      LIMIT ${terms.limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE connections AS c
    SET lease_owner = ${terms.owner}, lease_expires_at = ${terms.until}::timestamptz
    FROM due
    WHERE c.id = due.id
    RETURNING c.id::text AS id, c.next_refresh_at`
}
