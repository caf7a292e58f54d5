// Refresh tokens about to expire: the connections to warn of, each once per refresh token.
import type { Db } from '../client.js'

export interface ExpiringConnection {
  id: string
  namespace: string
  providerId: string
  userId: string
  status: string
  refreshTokenExpiresAt: Date
}

// the connections to warn of: $1 is now, $2 the end of the warning window
const EXPIRING = `status = 'active'
  AND refresh_token_expires_at > $1::timestamptz
  AND refresh_token_expires_at <= $2::timestamptz
  AND expiry_warned_at IS NULL
  AND refresh_token_enc IS NOT NULL`

/** Whether markExpiringConnections would find anything: asked first, on the driver, outside a transaction. */
export async function anyExpiringConnection(db: Db, { now, until }: { now: Date; until: Date }): Promise<boolean> {
  const [row] = await db.sql.rows<{ found: boolean }>({
    name: 'connections_any_expiring',
    text: `SELECT EXISTS (SELECT 1 FROM connections WHERE ${EXPIRING}) AS found`,
    values: [now, until],
  })
  return row?.found === true
}

/**
 * Marks as warned up to `limit` active connections whose refresh token expires after `now` and by `until`, not
 * warned of yet, and returns them: rows another instance is marking at the same moment are skipped (SKIP LOCKED), so
 * each is returned once however many instances run it. Call it in the transaction that emits the warnings.
 */
export function markExpiringConnections(
  tx: Db,
  { now, until, limit }: { now: Date; until: Date; limit: number },
): Promise<ExpiringConnection[]> {
  return tx.sql.rows<ExpiringConnection>({
    name: 'connections_mark_expiring',
    text: `
      WITH due AS (
        SELECT id FROM connections
        WHERE ${EXPIRING}
        ORDER BY refresh_token_expires_at
        LIMIT $3
        FOR UPDATE SKIP LOCKED
      )
      UPDATE connections AS c SET expiry_warned_at = $1::timestamptz
      FROM due WHERE c.id = due.id
      RETURNING c.id::text AS id, c.namespace, c.provider_id AS "providerId", c.user_id AS "userId", c.status,
        c.refresh_token_expires_at AS "refreshTokenExpiresAt"`,
    values: [now, until, limit],
  })
}
