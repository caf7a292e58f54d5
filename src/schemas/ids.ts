// The shapes of the identifiers the API takes, written once for the route schemas and the services.

/** A provider id: a slug, part of the redirect URI. */
export const PROVIDER_ID_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'
export const PROVIDER_ID = new RegExp(PROVIDER_ID_PATTERN)

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Ids the database generates (connections, callers, deliveries); anything else cannot name a row. */
export function isUuid(value: string): boolean {
  return UUID.test(value)
}

/** A namespace: the callers of one product or team, and the connections they share. */
export const NAMESPACE_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$'
export const DEFAULT_NAMESPACE = 'default'
