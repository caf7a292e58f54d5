import type { Db } from './client.js'
import {
  providerSelect,
  queryRows,
  toConnection,
  toProvider,
  type ConnectionRow,
  type ProviderRow,
  type Statement,
} from './connection-reads.js'
import type { Connection, Provider } from './generated/client.js'

// A lease marks the one process allowed to refresh a connection, until `lease_expires_at`. Every write made
// under a lease is checked against its owner, so a process whose lease was taken over cannot overwrite the
// newer tokens. Times come from the caller's clock, never from SQL now(), so one clock rules leases and expiry.
// Each function here is one statement that returns the leased row with its provider, so a refresh needs no
// further read before it calls the provider.

export type ConnectionWithProvider = Connection & { provider: Provider }

export interface LeaseTerms {
  /** Unique per acquisition: two refreshes in one process never share an owner. */
  owner: string
  now: Date
  until: Date
}

type LeasedRow = ConnectionRow & ProviderRow

function toLeased(row: LeasedRow): ConnectionWithProvider {
  return { ...toConnection(row), provider: toProvider(row) }
}

const PROVIDER = providerSelect('p')

const take = {
  name: 'connection_take_lease',
  text: `
    WITH taken AS (
      UPDATE connections SET lease_owner = $2, lease_expires_at = $3
      WHERE id = $1::uuid AND (lease_owner IS NULL OR lease_expires_at < $4)
      RETURNING *
    )
    SELECT taken.*, ${PROVIDER} FROM taken JOIN providers p ON p.id = taken.provider_id`,
}

/** Takes the lease of one connection when it is free or expired; the row as it is once leased, else null. */
export async function takeLease(db: Db, id: string, terms: LeaseTerms): Promise<ConnectionWithProvider | null> {
  const [row] = await queryRows<LeasedRow>(db, { ...take, values: [id, terms.owner, terms.until, terms.now] })
  return row ? toLeased(row) : null
}

const leased = {
  name: 'connection_find_leased',
  text: `
    SELECT c.*, ${PROVIDER} FROM connections c JOIN providers p ON p.id = c.provider_id
    WHERE c.id = $1::uuid AND c.lease_owner = $2`,
}

/** The connection, if `owner` still holds its lease. */
export async function findLeased(db: Db, id: string, owner: string): Promise<ConnectionWithProvider | null> {
  const [row] = await queryRows<LeasedRow>(db, { ...leased, values: [id, owner] })
  return row ? toLeased(row) : null
}

const release = {
  name: 'connection_release_lease',
  text: 'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1::uuid AND lease_owner = $2 RETURNING id',
}

export async function releaseLease(db: Db, id: string, owner: string): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(db, { ...release, values: [id, owner] })
  return rows.length > 0
}

export type ClaimTerms = LeaseTerms & { limit: number; exclude: readonly string[] }

/**
 * Leases up to `limit` active connections whose refresh is due, oldest first, in one statement: rows another
 * instance is claiming at the same moment are skipped (SKIP LOCKED), and rows under a live lease are not due.
 */
export async function claimDueConnections(db: Db, terms: ClaimTerms): Promise<ConnectionWithProvider[]> {
  const rows = await queryRows<LeasedRow>(db, claimDueConnectionsSql(terms))
  return rows.map(toLeased)
}

const claim = {
  name: 'connection_claim_due',
  text: `
    WITH due AS (
      SELECT id FROM connections
      WHERE status = 'active'
        AND next_refresh_at <= $1::timestamptz
        AND (lease_owner IS NULL OR lease_expires_at < $1::timestamptz)
        AND NOT (id = ANY($2::uuid[]))
      ORDER BY next_refresh_at
      LIMIT $3
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE connections AS c
      SET lease_owner = $4, lease_expires_at = $5::timestamptz
      FROM due
      WHERE c.id = due.id
      RETURNING c.*
    )
    SELECT claimed.*, ${PROVIDER} FROM claimed JOIN providers p ON p.id = claimed.provider_id`,
}

/** The claim statement itself, so the benchmark times and explains exactly what the scheduler runs. */
export function claimDueConnectionsSql(terms: ClaimTerms): Statement {
  return { ...claim, values: [terms.now, [...terms.exclude], terms.limit, terms.owner, terms.until] }
}
