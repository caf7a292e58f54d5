import type { Actor } from '../audit.js'
import type { Db } from '../client.js'
import type { Connection, Prisma } from '../generated/client.js'
import type { ConnectionKey } from './reads.js'
import { toConnection, type ConnectionRow } from './rows.js'

/** What a completed flow writes: new tokens and a reset state. */
export interface GrantedFields {
  status: 'active'
  subject: string | null
  accessTokenEnc: Uint8Array<ArrayBuffer>
  /** Absent: keep the stored refresh token. */
  refreshTokenEnc?: Uint8Array<ArrayBuffer> | null
  tokenType: string
  scope: string | null
  metadata: Record<string, string>
  expiresAt: Date
  lifetimeSeconds: number
  nextRefreshAt: Date | null
  /** Absent: `authorization_code` on insert, unchanged on replace. */
  grantType?: 'authorization_code' | 'client_credentials'
  requestedScopes?: string[]
  importDigest?: Uint8Array<ArrayBuffer> | null
  lastRefreshedAt?: Date
  /** Absent: keep the stored expiry (the refresh token is kept too). */
  refreshTokenExpiresAt?: Date | null
  /** A new grant may be warned of again. */
  expiryWarnedAt?: null
}

export interface LockedConnection {
  id: string
  subject: string | null
  status: string
  grantType: string
  importDigest: Uint8Array | null
  accessTokenEnc: Uint8Array
  refreshTokenEnc: Uint8Array | null
}

/** Locks the connection of `key` for the transaction `tx` (FOR UPDATE), if there is one. */
export async function lockConnection(tx: Db, key: ConnectionKey): Promise<LockedConnection | undefined> {
  const [row] = await tx.prisma.$queryRaw<LockedConnection[]>`
    SELECT id::text AS id, subject, status, grant_type AS "grantType", import_digest AS "importDigest",
      access_token_enc AS "accessTokenEnc", refresh_token_enc AS "refreshTokenEnc"
    FROM connections
    WHERE namespace = ${key.namespace} AND provider_id = ${key.providerId} AND user_id = ${key.userId}
    FOR UPDATE`
  return row
}

// a completed flow clears every trace of earlier refreshes; a refresh in flight with the old tokens must not write
// over the new ones: its lease and version no longer match
const resetState = {
  failureCount: 0,
  lastError: null,
  lastErrorAt: null,
  leaseOwner: null,
  leaseExpiresAt: null,
} as const

export async function insertConnection(
  tx: Db,
  {
    id,
    key,
    createdByClientId,
    fields,
  }: { id: string; key: ConnectionKey; createdByClientId: string | null; fields: GrantedFields },
): Promise<void> {
  const { namespace, providerId, userId } = key
  await tx.prisma.connection.create({
    data: { id, namespace, providerId, userId, createdByClientId, ...fields, ...resetState },
  })
}

/** The account a connection is at its provider (null: unknown, or no such connection). */
export async function findConnectionSubject(
  db: Db,
  { namespace, providerId, userId }: ConnectionKey,
): Promise<string | null> {
  const row = await db.prisma.connection.findUnique({
    where: { namespace_providerId_userId: { namespace, providerId, userId } },
    select: { subject: true },
  })
  return row?.subject ?? null
}

export async function replaceConnectionTokens(tx: Db, id: string, fields: GrantedFields): Promise<void> {
  await tx.prisma.connection.update({ where: { id }, data: { ...fields, ...resetState, version: { increment: 1 } } })
}

/** What a successful refresh stores. */
export interface RefreshedFields {
  accessTokenEnc: Uint8Array<ArrayBuffer>
  /** null: the provider did not rotate it; the stored one stays. */
  refreshTokenEnc: Uint8Array<ArrayBuffer> | null
  tokenType: string
  scope: string | null
  /** Merged over the stored metadata: a refresh answer may bring new values (a moved instance_url). */
  metadata: Record<string, string>
  expiresAt: Date
  lifetimeSeconds: number
  nextRefreshAt: Date | null
  refreshedAt: Date
  /** Undefined: the refresh token's expiry stays as stored; a changed expiry may be warned of again. */
  refreshTokenExpiresAt: Date | null | undefined
}

/** One refresh's outcome to store: its lease, what it stores, and its audit entry. */
export interface RefreshedWrite {
  lease: { id: string; owner: string }
  fields: RefreshedFields
  audit: { actor: Actor; detail: Prisma.InputJsonObject }
}

// The new tokens, the released lease and the audit entry of each refresh in one statement (atomic, one round trip,
// however many refreshes it stores): a refresh is the broker's most frequent write. Each row is stored only where its
// lease is still held; `stored_for` names the lease a returned row was stored under.
const refreshed = {
  name: 'connections_store_refreshed',
  text: `
    WITH outcome AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::bytea[], $4::bytea[], $5::text[], $6::text[],
        $7::timestamptz[], $8::integer[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::jsonb[],
        $13::jsonb[], $14::boolean[], $15::timestamptz[])
        AS o(id, owner, access_token_enc, refresh_token_enc, token_type, scope, expires_at, lifetime_seconds,
          next_refresh_at, refreshed_at, actor, detail, metadata, sets_expiry, refresh_token_expires_at)
    ), saved AS (
      UPDATE connections c SET
        access_token_enc = o.access_token_enc,
        refresh_token_enc = COALESCE(o.refresh_token_enc, c.refresh_token_enc),
        token_type = o.token_type,
        scope = o.scope,
        expires_at = o.expires_at,
        lifetime_seconds = o.lifetime_seconds,
        next_refresh_at = o.next_refresh_at,
        last_refreshed_at = o.refreshed_at,
        failure_count = 0,
        last_error = NULL,
        last_error_at = NULL,
        lease_owner = NULL,
        lease_expires_at = NULL,
        version = c.version + 1,
        updated_at = $16,
        metadata = COALESCE(c.metadata, '{}'::jsonb) || o.metadata,
        refresh_token_expires_at = CASE WHEN o.sets_expiry THEN o.refresh_token_expires_at
          ELSE c.refresh_token_expires_at END,
        expiry_warned_at = CASE
          WHEN o.sets_expiry AND o.refresh_token_expires_at IS DISTINCT FROM c.refresh_token_expires_at THEN NULL
          ELSE c.expiry_warned_at END
      FROM outcome o
      WHERE c.id = o.id AND c.lease_owner = o.owner
      RETURNING c.*, o.owner AS stored_for, o.actor AS audit_actor, o.detail AS audit_detail
    ), audit AS (
      INSERT INTO audit_events (actor, action, subject_type, subject_id, namespace, provider_id, user_id, detail)
      SELECT audit_actor, 'connection.refreshed', 'connection', id::text, namespace, provider_id, user_id, audit_detail
      FROM saved
    )
    SELECT * FROM saved`,
}

/**
 * Stores refreshes' new tokens and their audit entries, releasing each lease that its writer still holds, in one
 * statement: for each write in order, the stored row, or null where the lease was taken over. In a transaction
 * (Prisma's raw query), give one write: Prisma types an array parameter by its first element, and a null first
 * refresh token would send the others' bytes as text.
 */
export async function storeRefreshed(db: Db, writes: readonly RefreshedWrite[]): Promise<Array<Connection | null>> {
  const column = <T>(value: (write: RefreshedWrite) => T) => writes.map(value)
  const rows = await db.sql.rows<ConnectionRow & { stored_for: string }>({
    ...refreshed,
    values: [
      column((w) => w.lease.id),
      column((w) => w.lease.owner),
      column((w) => w.fields.accessTokenEnc),
      column((w) => w.fields.refreshTokenEnc),
      column((w) => w.fields.tokenType),
      column((w) => w.fields.scope),
      column((w) => w.fields.expiresAt),
      column((w) => w.fields.lifetimeSeconds),
      column((w) => w.fields.nextRefreshAt),
      column((w) => w.fields.refreshedAt),
      column((w) => w.audit.actor),
      column((w) => JSON.stringify(w.audit.detail)),
      column((w) => JSON.stringify(w.fields.metadata)),
      column((w) => w.fields.refreshTokenExpiresAt !== undefined),
      column((w) => w.fields.refreshTokenExpiresAt ?? null),
      new Date(),
    ],
  })
  const stored = new Map(rows.map((row) => [`${row.id} ${row.stored_for}`, row]))
  return writes.map(({ lease }) => {
    const row = stored.get(`${lease.id} ${lease.owner}`)
    return row ? toConnection(row) : null
  })
}

/** What a failed refresh records. */
export interface FailureFields {
  /** Set when the grant is gone: no further refresh. */
  status?: 'reauthorization_required'
  nextRefreshAt: Date | null
  failureCount: number
  lastError: string
  lastErrorAt: Date
}

/** Records a failed refresh, releasing the lease, if `owner` still holds it; null when it was taken over. */
export async function storeRefreshFailure(
  db: Db,
  lease: { id: string; owner: string },
  fields: FailureFields,
): Promise<Connection | null> {
  const [saved] = await db.prisma.connection.updateManyAndReturn({
    where: { id: lease.id, leaseOwner: lease.owner },
    data: { ...fields, leaseOwner: null, leaseExpiresAt: null },
  })
  return saved ?? null
}

/** Deletes a connection; false when it was already gone. */
export async function deleteConnection(db: Db, id: string): Promise<boolean> {
  const { count } = await db.prisma.connection.deleteMany({ where: { id } })
  return count > 0
}
