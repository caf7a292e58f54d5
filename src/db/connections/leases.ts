// A lease marks the one process allowed to refresh (or revoke) a connection, until `lease_expires_at`. Every write
// made under a lease is checked against its owner, so a process whose lease was taken over cannot overwrite newer
// tokens. Times come from the caller's clock, never from SQL now(), so one clock rules leases and expiry. Each
// statement here returns the leased row with its provider, so a refresh needs no further read before its call.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Db, Statement } from '../client.js'
import {
  providerSelect,
  toConnectionWithProvider,
  type ConnectionWithProvider,
  type ConnectionWithProviderRow,
} from './rows.js'

export interface LeaseTerms {
  /** Unique per acquisition: two refreshes in one process never share an owner. */
  owner: string
  now: Date
  until: Date
}

export type ClaimTerms = LeaseTerms & {
  limit: number
  exclude: readonly string[]
  /** Rows one claim may take per provider (default: `limit`), and lower limits for named providers (0 skips them). */
  perProvider?: number
  providerLimits?: ReadonlyMap<string, number>
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
  const [row] = await db.sql.rows<ConnectionWithProviderRow>({
    ...take,
    values: [id, terms.owner, terms.until, terms.now],
  })
  return row ? toConnectionWithProvider(row) : null
}

const leased = {
  name: 'connection_find_leased',
  text: `
    SELECT c.*, ${PROVIDER} FROM connections c JOIN providers p ON p.id = c.provider_id
    WHERE c.id = $1::uuid AND c.lease_owner = $2`,
}

/** The connection, if `owner` still holds its lease. */
export async function findLeased(db: Db, id: string, owner: string): Promise<ConnectionWithProvider | null> {
  const [row] = await db.sql.rows<ConnectionWithProviderRow>({ ...leased, values: [id, owner] })
  return row ? toConnectionWithProvider(row) : null
}

const release = {
  name: 'connection_release_lease',
  text: 'UPDATE connections SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1::uuid AND lease_owner = $2 RETURNING id',
}

export async function releaseLease(db: Db, id: string, owner: string): Promise<boolean> {
  const rows = await db.sql.rows<{ id: string }>({ ...release, values: [id, owner] })
  return rows.length > 0
}

// The due rows are ranked per provider among the oldest few candidates, so one claim takes at most a provider's
// remaining slots; a provider with none left is skipped before the candidates are chosen. Candidates skip rows another
// instance is claiming (SKIP LOCKED), so concurrent claims take different rows.
const claim = {
  name: 'connection_claim_due',
  text: `
    WITH limits AS (
      SELECT * FROM unnest($6::text[], $7::int[]) AS l(provider_id, remaining)
    ), candidates AS (
      SELECT c.id, c.next_refresh_at, c.provider_id, COALESCE(l.remaining, $8) AS remaining
      FROM connections c LEFT JOIN limits l ON l.provider_id = c.provider_id
      WHERE c.status = 'active'
        AND c.next_refresh_at <= $1::timestamptz
        AND (c.lease_owner IS NULL OR c.lease_expires_at < $1::timestamptz)
        AND NOT (c.id = ANY($2::uuid[]))
        AND COALESCE(l.remaining, $8) > 0
      ORDER BY c.next_refresh_at
      LIMIT $3 * 8
      FOR UPDATE OF c SKIP LOCKED
    ), ranked AS (
      SELECT id, next_refresh_at, remaining,
             row_number() OVER (PARTITION BY provider_id ORDER BY next_refresh_at) AS rank
      FROM candidates
    ), due AS (
      SELECT c.id FROM connections c JOIN ranked r ON r.id = c.id
      WHERE r.rank <= r.remaining
        AND c.status = 'active'
        AND (c.lease_owner IS NULL OR c.lease_expires_at < $1::timestamptz)
      ORDER BY r.next_refresh_at
      LIMIT $3
      FOR UPDATE OF c SKIP LOCKED
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
  const limits = [...(terms.providerLimits ?? new Map<string, number>())]
  return {
    ...claim,
    values: [
      terms.now,
      [...terms.exclude],
      terms.limit,
      terms.owner,
      terms.until,
      limits.map(([provider]) => provider),
      limits.map(([, remaining]) => remaining),
      terms.perProvider ?? terms.limit,
    ],
  }
}

/**
 * Leases up to `limit` active connections whose refresh is due, oldest first, in one statement: rows another
 * instance is claiming at the same moment are skipped (SKIP LOCKED), and rows under a live lease are not due.
 */
export async function claimDueConnections(db: Db, terms: ClaimTerms): Promise<ConnectionWithProvider[]> {
  const rows = await db.sql.rows<ConnectionWithProviderRow>(claimDueConnectionsSql(terms))
  return rows.map(toConnectionWithProvider)
}

/** How this process names and times its leases. */
export interface LeasePolicy {
  instanceId: string
  now: () => Date
  leaseSeconds: number
}

/** A fresh owner for one acquisition: the instance, and a random part so two acquisitions never share one. */
export function newLeaseOwner(instanceId: string): string {
  return `${instanceId}/${randomBytes(6).toString('base64url')}`
}

export function leaseTerms(policy: LeasePolicy, owner: string): LeaseTerms {
  const now = policy.now()
  return { owner, now, until: new Date(now.getTime() + policy.leaseSeconds * 1000) }
}

/** How often a wait for another process's lease (or import claim) looks again. */
export const POLL_MS = 100

export type LeaseWait<T> =
  | { kind: 'leased'; row: ConnectionWithProvider; owner: string }
  /** `whileHeld` answered while another process held the lease. */
  | { kind: 'settled'; value: T }
  | { kind: 'timed_out' }

/**
 * Takes the lease of a connection, or waits while another process holds it, polling. `whileHeld` runs at every poll
 * the lease is held elsewhere: what it returns (not undefined) ends the wait, for a caller whose need the other
 * process has already met. After `waitMs` without the lease: `timed_out`.
 */
export async function takeLeaseOrWait<T>(
  db: Db,
  id: string,
  policy: LeasePolicy,
  { waitMs, whileHeld }: { waitMs: number; whileHeld?: () => Promise<T | undefined> },
): Promise<LeaseWait<T>> {
  const owner = newLeaseOwner(policy.instanceId)
  const deadline = Date.now() + waitMs
  for (;;) {
    const row = await takeLease(db, id, leaseTerms(policy, owner))
    if (row) return { kind: 'leased', row, owner }
    const value = await whileHeld?.()
    if (value !== undefined) return { kind: 'settled', value }
    if (Date.now() >= deadline) return { kind: 'timed_out' }
    await sleep(POLL_MS)
  }
}
