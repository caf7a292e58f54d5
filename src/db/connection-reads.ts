import { poolOf, type Db } from './client.js'
import type { Connection, Provider } from './generated/client.js'

// The statements on the hot paths run on the driver, not through Prisma. Through Prisma a read costs about three
// times the CPU of the same statement on the driver (query building, plan interpretation, result mapping): on a
// cold GET /tokens, more than half of the broker's work, and on a refresh the larger part of its database cost. These
// run as statements on the pool under the Prisma client and map rows to Prisma's own types;
// test/db/connection-reads.test.ts checks that both agree column for column.

export interface Statement {
  /** Set on statements run often: the driver prepares them once per connection. */
  name?: string
  text: string
  values: unknown[]
}

/** Runs a statement on the pool under `db`, or through Prisma's raw API where the client has no pool of ours. */
export async function queryRows<Row>(db: Db, statement: Statement): Promise<Row[]> {
  const pool = poolOf(db)
  if (pool) return (await pool.query(statement as { text: string; values: unknown[] })).rows as Row[]
  return db.$queryRawUnsafe<Row[]>(statement.text, ...statement.values)
}

export interface ConnectionRow {
  id: string
  provider_id: string
  user_id: string
  status: string
  subject: string | null
  access_token_enc: Uint8Array
  refresh_token_enc: Uint8Array | null
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

/** Bytes as Prisma gives them: a plain Uint8Array, not the driver's Buffer over a shared pool. */
const bytes = (value: Uint8Array) => new Uint8Array(value)

export function toConnection(row: ConnectionRow): Connection {
  return {
    id: row.id,
    providerId: row.provider_id,
    userId: row.user_id,
    status: row.status,
    subject: row.subject,
    accessTokenEnc: bytes(row.access_token_enc),
    refreshTokenEnc: row.refresh_token_enc && bytes(row.refresh_token_enc),
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

/** A provider's columns, each prefixed `p_` so they sit beside a connection's in one row. */
export const PROVIDER_COLUMNS = [
  'id',
  'display_name',
  'preset',
  'issuer',
  'authorization_endpoint',
  'token_endpoint',
  'revocation_endpoint',
  'client_id',
  'client_secret_enc',
  'token_endpoint_auth_method',
  'scopes',
  'authorization_params',
  'pkce',
  'default_token_lifetime_seconds',
  'refresh_margin_seconds',
  'credentials_status',
  'credentials_error',
  'credentials_checked_at',
  'created_at',
  'updated_at',
] as const

/** `alias.column AS p_column, …`, for a select list. */
export function providerSelect(alias: string): string {
  return PROVIDER_COLUMNS.map((column) => `${alias}.${column} AS p_${column}`).join(', ')
}

export type ProviderRow = { [K in (typeof PROVIDER_COLUMNS)[number] as `p_${K}`]: unknown }

export function toProvider(row: ProviderRow): Provider {
  return {
    id: row.p_id as string,
    displayName: row.p_display_name as string | null,
    preset: row.p_preset as string | null,
    issuer: row.p_issuer as string | null,
    authorizationEndpoint: row.p_authorization_endpoint as string | null,
    tokenEndpoint: row.p_token_endpoint as string | null,
    revocationEndpoint: row.p_revocation_endpoint as string | null,
    clientId: row.p_client_id as string,
    clientSecretEnc: row.p_client_secret_enc ? bytes(row.p_client_secret_enc as Uint8Array) : null,
    tokenEndpointAuthMethod: row.p_token_endpoint_auth_method as string,
    scopes: row.p_scopes as string[],
    authorizationParams: row.p_authorization_params as Provider['authorizationParams'],
    pkce: row.p_pkce as boolean,
    defaultTokenLifetimeSeconds: row.p_default_token_lifetime_seconds as number,
    refreshMarginSeconds: row.p_refresh_margin_seconds as number | null,
    credentialsStatus: row.p_credentials_status as string,
    credentialsError: row.p_credentials_error as string | null,
    credentialsCheckedAt: row.p_credentials_checked_at as Date | null,
    createdAt: row.p_created_at as Date,
    updatedAt: row.p_updated_at as Date,
  }
}

const byUser = {
  name: 'connection_by_provider_user',
  text: 'SELECT * FROM connections WHERE provider_id = $1 AND user_id = $2',
}

/** The connection of `userId` at `providerId`, as `prisma.connection.findUnique` returns it. */
export async function findConnectionByUser(db: Db, providerId: string, userId: string): Promise<Connection | null> {
  const [row] = await queryRows<ConnectionRow>(db, { ...byUser, values: [providerId, userId] })
  return row ? toConnection(row) : null
}

const byUsers = {
  name: 'connections_by_provider_users',
  text: 'SELECT * FROM connections WHERE provider_id = $1 AND user_id = ANY($2::text[])',
}

/** Reads per statement at most: a batch stays one short index scan. */
export const MAX_BATCH = 100

interface Pending {
  resolve(connection: Connection | null): void
  reject(err: unknown): void
}

/**
 * Reads connections by user like findConnectionByUser, gathering the reads asked for in one turn of the event loop
 * into one statement per provider. Under load most of a cold read's cost is the round trip itself (the socket write
 * alone was about half of it in the benchmark's profile), so a hundred concurrent cold reads cost a few statements
 * instead of a hundred. A read alone waits one turn of the event loop, no more; a read of a connection already
 * being read shares that read (when a busy user's cached token expires, the requests waiting for it read once).
 */
export function createConnectionReader(db: Db) {
  const inFlight = new Map<string, Promise<Connection | null>>()
  let batch = new Map<string, Map<string, Pending>>()
  let scheduled = false

  function flush(): void {
    scheduled = false
    const batches = batch
    batch = new Map()
    for (const [providerId, users] of batches) {
      const userIds = [...users.keys()]
      for (let i = 0; i < userIds.length; i += MAX_BATCH) {
        void readBatch(providerId, userIds.slice(i, i + MAX_BATCH), users)
      }
    }
  }

  async function readBatch(providerId: string, userIds: string[], pending: Map<string, Pending>): Promise<void> {
    try {
      const rows =
        userIds.length === 1
          ? await queryRows<ConnectionRow>(db, { ...byUser, values: [providerId, userIds[0]] })
          : await queryRows<ConnectionRow>(db, { ...byUsers, values: [providerId, userIds] })
      const found = new Map(rows.map((row) => [row.user_id, row]))
      for (const userId of userIds) {
        const row = found.get(userId)
        pending.get(userId)?.resolve(row ? toConnection(row) : null)
      }
    } catch (err) {
      for (const userId of userIds) pending.get(userId)?.reject(err)
    }
  }

  return {
    /** The connection of `userId` at `providerId`, as `prisma.connection.findUnique` returns it. */
    read(providerId: string, userId: string): Promise<Connection | null> {
      const key = `${providerId}\u0000${userId}`
      const known = inFlight.get(key)
      if (known) return known
      const read = new Promise<Connection | null>((resolve, reject) => {
        let users = batch.get(providerId)
        if (!users) batch.set(providerId, (users = new Map()))
        users.set(userId, { resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      }).finally(() => inFlight.delete(key))
      inFlight.set(key, read)
      return read
    },
  }
}
