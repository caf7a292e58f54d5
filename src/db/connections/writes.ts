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

// The new tokens, the released lease and the audit entry in one statement (atomic, one round trip): a refresh is
// the broker's most frequent write.
const refreshed = {
  name: 'connection_store_refreshed',
  text: `
    WITH saved AS (
      UPDATE connections SET
        access_token_enc = $3,
        refresh_token_enc = COALESCE($4, refresh_token_enc),
        token_type = $5,
        scope = $6,
        expires_at = $7,
        lifetime_seconds = $8,
        next_refresh_at = $9,
        last_refreshed_at = $10,
        failure_count = 0,
        last_error = NULL,
        last_error_at = NULL,
        lease_owner = NULL,
        lease_expires_at = NULL,
        version = version + 1,
        updated_at = $11,
        metadata = COALESCE(metadata, '{}'::jsonb) || $14::jsonb,
        refresh_token_expires_at = CASE WHEN $15::boolean THEN $16::timestamptz ELSE refresh_token_expires_at END,
        expiry_warned_at = CASE
          WHEN $15::boolean AND $16::timestamptz IS DISTINCT FROM refresh_token_expires_at THEN NULL
          ELSE expiry_warned_at END
      WHERE id = $1::uuid AND lease_owner = $2
      RETURNING *
    ), audit AS (
      INSERT INTO audit_events (actor, action, subject_type, subject_id, namespace, provider_id, user_id, detail)
      SELECT $12, 'connection.refreshed', 'connection', saved.id::text, saved.namespace, saved.provider_id,
        saved.user_id, $13::jsonb
      FROM saved
    )
    SELECT * FROM saved`,
}

/**
 * Stores a refresh's new tokens and its audit entry, releasing the lease, if `owner` still holds it: the stored row,
 * or null when the lease was taken over.
 */
export async function storeRefreshed(
  db: Db,
  lease: { id: string; owner: string },
  fields: RefreshedFields,
  audit: { actor: Actor; detail: Prisma.InputJsonObject },
): Promise<Connection | null> {
  const [saved] = await db.sql.rows<ConnectionRow>({
    ...refreshed,
    values: [
      lease.id,
      lease.owner,
      fields.accessTokenEnc,
      fields.refreshTokenEnc,
      fields.tokenType,
      fields.scope,
      fields.expiresAt,
      fields.lifetimeSeconds,
      fields.nextRefreshAt,
      fields.refreshedAt,
      new Date(),
      audit.actor,
      JSON.stringify(audit.detail),
      JSON.stringify(fields.metadata),
      fields.refreshTokenExpiresAt !== undefined,
      fields.refreshTokenExpiresAt ?? null,
    ],
  })
  return saved ? toConnection(saved) : null
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
