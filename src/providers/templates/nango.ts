// Entries of Nango's providers.yaml (a map of provider name to settings), turned into our templates for the fields
// that mean something here. Whatever else an entry holds is reported, never silently dropped.
import type { ConnectionConfigField } from '../../schemas/template.js'

type Entry = Record<string, unknown>

/** The result of mapping one entry: a template-shaped object for the schema to check, and what was left out. */
export interface MappedEntry {
  template: Record<string, unknown>
  ignored: string[]
}

const AUTH_METHODS: Record<string, string> = { basic: 'client_secret_basic', body: 'client_secret_post' }

/** Nango fields we map; every other field of an entry is reported as ignored. */
const MAPPED = new Set([
  'display_name',
  'docs',
  'auth_mode',
  'authorization_url',
  'token_url',
  'refresh_url',
  'authorization_params',
  'token_params',
  'refresh_params',
  'scope_separator',
  'default_scopes',
  'disable_pkce',
  'token_request_auth_method',
  'body_format',
  'expires_in_unit',
  'token_response_metadata',
  'redirect_uri_metadata',
  'connection_config',
  'alias',
])

/** Whether an entry is in Nango's format rather than ours. */
export function isNangoEntry(entry: Entry): boolean {
  return 'auth_mode' in entry || 'authorization_url' in entry || 'alias' in entry
}

/**
 * Maps one entry; `resolveAlias` gives the (already mapped) template an `alias` names. Nango's `auth_mode` must be
 * OAUTH2: API keys, OAuth 1 and app installs are not token flows this broker runs.
 */
export function mapNangoEntry(
  name: string,
  entry: Entry,
  resolveAlias: (alias: string) => Record<string, unknown> | undefined,
): MappedEntry | { unsupported: string } {
  const ignored = Object.keys(entry).filter((field) => !MAPPED.has(field))
  let base: Record<string, unknown> = {}
  if (typeof entry.alias === 'string') {
    const aliased = resolveAlias(entry.alias)
    if (!aliased) return { unsupported: `alias ${entry.alias} names no known template` }
    base = { ...aliased }
  }
  const mode = entry.auth_mode ?? (base.authMode === undefined ? undefined : 'OAUTH2')
  if (mode !== 'OAUTH2') return { unsupported: `auth_mode ${String(mode)} is not OAuth 2.0` }

  const template: Record<string, unknown> = { ...base, name, authMode: 'oauth2' }
  const set = (field: string, value: unknown) => {
    if (value !== undefined) template[field] = value
  }
  const url = (field: string, value: unknown) => {
    if (value === undefined) return
    // Nango allows a map of URLs by grant type; we keep one URL per purpose
    if (typeof value === 'string') set(field, value)
    else ignored.push(field === 'authorizationEndpoint' ? 'authorization_url' : 'token_url (a map)')
  }
  set('displayName', entry.display_name ?? base.displayName ?? name)
  set('docsUrl', entry.docs ?? base.docsUrl)
  url('authorizationEndpoint', entry.authorization_url)
  url('tokenEndpoint', entry.token_url)
  url('refreshEndpoint', entry.refresh_url)
  set('authorizationParams', paramsOf(entry.authorization_params))
  set('tokenParams', paramsOf(entry.token_params))
  set('refreshParams', paramsOf(entry.refresh_params))
  set('scopeSeparator', entry.scope_separator)
  set('scopes', entry.default_scopes)
  if (entry.disable_pkce === true) template.pkce = false
  if (entry.token_request_auth_method !== undefined) {
    const method = AUTH_METHODS[String(entry.token_request_auth_method)]
    if (method) template.tokenEndpointAuthMethod = method
    else ignored.push(`token_request_auth_method ${String(entry.token_request_auth_method)}`)
  } else if (!base.tokenEndpointAuthMethod) {
    // Nango sends the client credentials in the body unless told `basic`
    template.tokenEndpointAuthMethod = 'client_secret_post'
  }
  set('bodyFormat', entry.body_format)
  set('expiresInUnit', entry.expires_in_unit)
  const metadata = {
    ...(base.metadata as object | undefined),
    ...(entry.token_response_metadata === undefined ? {} : { tokenResponse: entry.token_response_metadata }),
    ...(entry.redirect_uri_metadata === undefined ? {} : { callbackQuery: entry.redirect_uri_metadata }),
  }
  if (Object.keys(metadata).length > 0) template.metadata = metadata
  if (entry.connection_config !== undefined) template.connectionConfig = connectionConfigOf(entry.connection_config)
  return { template, ignored }
}

/**
 * Parameters as they go on the wire: Nango's YAML writes some unquoted (shopify's `expiring: 1`, twitch's
 * `force_verify: false`), which YAML reads as numbers and booleans. Anything else is left for the schema to refuse.
 */
function paramsOf(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  return Object.fromEntries(
    Object.entries(value).map(([name, param]) => [
      name,
      typeof param === 'number' || typeof param === 'boolean' ? String(param) : param,
    ]),
  )
}

function connectionConfigOf(value: unknown): ConnectionConfigField[] | unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  return Object.entries(value as Record<string, Record<string, unknown>>).map(([name, field]) => ({
    name,
    ...(typeof field?.description === 'string' ? { description: field.description } : {}),
    ...(typeof field?.pattern === 'string' ? { pattern: field.pattern } : {}),
    ...(field?.optional === true ? { optional: true } : {}),
  }))
}
