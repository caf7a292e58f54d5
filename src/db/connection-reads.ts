import { poolOf, type Db } from './client.js'
import type { Connection } from './generated/client.js'

// GET /tokens reads one connection per cold request. Through Prisma that read costs about three times the CPU of the
// same statement on the driver (query building, plan interpretation, result mapping): on a cold read, more than
// half of the broker's work. This reads the row with a prepared statement on the pool under the Prisma client and
// maps it to Prisma's own type; test/db/connection-reads.test.ts checks that both agree column for column.

const byUser = {
  name: 'connection_by_provider_user',
  text: 'SELECT * FROM connections WHERE provider_id = $1 AND user_id = $2',
}

interface ConnectionRow {
  id: string
  provider_id: string
  user_id: string
  status: string
  subject: string | null
  access_token_enc: Buffer
  refresh_token_enc: Buffer | null
  token_type: string
  scope: string | null
  expires_at: Date | null
  lifetime_seconds: number | null
  next_refresh_at: Date | null
  lease_owner: string | null
  lease_expires_at: Date | null
  failure_count: number
  last_error: string | null
  last_error_at: Date | null
  last_refreshed_at: Date | null
  created_by_client_id: string | null
  version: number
  created_at: Date
  updated_at: Date
}

function toConnection(row: ConnectionRow): Connection {
  return {
    id: row.id,
    providerId: row.provider_id,
    userId: row.user_id,
    status: row.status,
    subject: row.subject,
    accessTokenEnc: new Uint8Array(row.access_token_enc),
    refreshTokenEnc: row.refresh_token_enc && new Uint8Array(row.refresh_token_enc),
    tokenType: row.token_type,
    scope: row.scope,
    expiresAt: row.expires_at,
    lifetimeSeconds: row.lifetime_seconds,
    nextRefreshAt: row.next_refresh_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    failureCount: row.failure_count,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    lastRefreshedAt: row.last_refreshed_at,
    createdByClientId: row.created_by_client_id,
    version: row.version,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** The connection of `userId` at `providerId`, as `prisma.connection.findUnique` returns it. */
export async function findConnectionByUser(db: Db, providerId: string, userId: string): Promise<Connection | null> {
  const pool = poolOf(db)
  if (!pool) return db.connection.findUnique({ where: { providerId_userId: { providerId, userId } } })
  const { rows } = await pool.query<ConnectionRow>({ ...byUser, values: [providerId, userId] })
  return rows[0] ? toConnection(rows[0]) : null
}
