// Rows as the driver returns them, mapped to Prisma's own types, so that a connection read by a statement on the
// driver and one read through Prisma are the same object (test/db/connections.test.ts checks it column for column).
import type { Connection, Provider } from '../generated/client.js'

export type ConnectionWithProvider = Connection & { provider: Provider }

export interface ConnectionRow {
  id: string
  namespace: string
  provider_id: string
  user_id: string
  status: string
  subject: string | null
  access_token_enc: Uint8Array
  refresh_token_enc: Uint8Array | null
  token_type: string
  scope: string | null
  metadata: Connection['metadata']
  expires_at: Date | null
  lifetime_seconds: number | null
  next_refresh_at: Date | null
  lease_owner: string | null
  lease_expires_at: Date | null
  failure_count: number
  last_error: string | null
  last_error_at: Date | null
  last_refreshed_at: Date | null
  refresh_token_expires_at: Date | null
  expiry_warned_at: Date | null
  created_by_client_id: string | null
  version: number
  grant_type: string
  requested_scopes: string[] | null
  import_digest: Uint8Array | null
  created_at: Date
  updated_at: Date
}

/** Bytes as Prisma gives them: a plain Uint8Array, not the driver's Buffer over a shared pool. */
const bytes = (value: Uint8Array) => new Uint8Array(value)

export function toConnection(row: ConnectionRow): Connection {
  return {
    id: row.id,
    namespace: row.namespace,
    providerId: row.provider_id,
    userId: row.user_id,
    status: row.status,
    subject: row.subject,
    accessTokenEnc: bytes(row.access_token_enc),
    refreshTokenEnc: row.refresh_token_enc && bytes(row.refresh_token_enc),
    tokenType: row.token_type,
    scope: row.scope,
    metadata: row.metadata,
    expiresAt: row.expires_at,
    lifetimeSeconds: row.lifetime_seconds,
    nextRefreshAt: row.next_refresh_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    failureCount: row.failure_count,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    lastRefreshedAt: row.last_refreshed_at,
    refreshTokenExpiresAt: row.refresh_token_expires_at,
    expiryWarnedAt: row.expiry_warned_at,
    createdByClientId: row.created_by_client_id,
    version: row.version,
    grantType: row.grant_type,
    requestedScopes: row.requested_scopes ?? [],
    importDigest: row.import_digest && bytes(row.import_digest),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

/** A provider's columns, each prefixed `p_` so they sit beside a connection's in one row. */
const PROVIDER_COLUMNS = [
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
  'connection_config',
  'pkce',
  'default_token_lifetime_seconds',
  'refresh_margin_seconds',
  'refresh_token_lifetime_seconds',
  'allowed_scopes',
  'credentials_status',
  'credentials_error',
  'credentials_checked_at',
  'private_key_enc',
  'fallback_client_secrets_enc',
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
    connectionConfig: row.p_connection_config as Provider['connectionConfig'],
    pkce: row.p_pkce as boolean,
    defaultTokenLifetimeSeconds: row.p_default_token_lifetime_seconds as number,
    refreshMarginSeconds: row.p_refresh_margin_seconds as number | null,
    refreshTokenLifetimeSeconds: row.p_refresh_token_lifetime_seconds as number | null,
    allowedScopes: (row.p_allowed_scopes as string[] | null) ?? [],
    credentialsStatus: row.p_credentials_status as string,
    credentialsError: row.p_credentials_error as string | null,
    credentialsCheckedAt: row.p_credentials_checked_at as Date | null,
    privateKeyEnc: row.p_private_key_enc ? bytes(row.p_private_key_enc as Uint8Array) : null,
    fallbackClientSecretsEnc: row.p_fallback_client_secrets_enc
      ? bytes(row.p_fallback_client_secrets_enc as Uint8Array)
      : null,
    createdAt: row.p_created_at as Date,
    updatedAt: row.p_updated_at as Date,
  }
}

export type ConnectionWithProviderRow = ConnectionRow & ProviderRow

export function toConnectionWithProvider(row: ConnectionWithProviderRow): ConnectionWithProvider {
  return { ...toConnection(row), provider: toProvider(row) }
}
