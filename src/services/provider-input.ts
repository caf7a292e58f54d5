// Turns an admin's (or PROVIDERS_FILE's) provider description into the fields we store: types, limits, preset
// defaults, URL rules. The route schemas check shapes first; this is the check that holds for every entry point.
import { invalidRequest } from '../errors.js'
import { isLoopback } from '../providers/registry.js'
import {
  isPresetName,
  presetDefaults,
  PresetError,
  type PresetName,
  type TokenEndpointAuthMethod,
} from '../providers/presets.js'

export const PROVIDER_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/
// RFC 6749 §3.3 scope-token characters
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,200}$/
const PARAM_NAME = /^[A-Za-z0-9_.-]{1,64}$/
// Parameters the broker sets itself on every authorization request.
const RESERVED_PARAMS = new Set([
  'client_id',
  'response_type',
  'response_mode',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
])
export const authMethods: readonly TokenEndpointAuthMethod[] = ['client_secret_basic', 'client_secret_post']

/** The stored fields of a provider, validated; `clientSecret` absent means "keep the one stored". */
export interface ProviderInput {
  id: string
  preset: PresetName | null
  displayName: string | null
  issuer: string | null
  authorizationEndpoint: string | null
  tokenEndpoint: string | null
  revocationEndpoint: string | null
  clientId: string
  clientSecret?: string
  tokenEndpointAuthMethod: TokenEndpointAuthMethod
  scopes: string[]
  authorizationParams: Record<string, string>
  pkce: boolean
  defaultTokenLifetimeSeconds: number
  refreshMarginSeconds: number | null
}

type Body = Record<string, unknown>

function optionalString(body: Body, field: string, max: number): string | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalidRequest(`${field} must be a string of 1 to ${max} characters`)
  }
  return value
}

function optionalInt(body: Body, field: string, min: number, max: number): number | undefined {
  const value = body[field]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidRequest(`${field} must be a whole number between ${min} and ${max}`)
  }
  return value
}

/** Provider URLs are https, except on loopback hosts; never with credentials or a fragment. */
export function providerUrl(field: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidRequest(`${field} must be an absolute URL`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url))) {
    throw invalidRequest(`${field} must be https (http only on 127.0.0.1, localhost or [::1])`)
  }
  if (url.username || url.password) throw invalidRequest(`${field} must not contain credentials`)
  if (url.hash) throw invalidRequest(`${field} must not contain a fragment`)
  return url.href
}

export function scopeList(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.length > 100) throw invalidRequest(`${field} must be a list of at most 100 scopes`)
  for (const scope of value) {
    if (typeof scope !== 'string' || !SCOPE_TOKEN.test(scope)) {
      throw invalidRequest(`${field} must hold OAuth scope tokens (printable ASCII, no spaces or quotes)`)
    }
  }
  return [...new Set(value as string[])]
}

function authorizationParams(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('authorizationParams must be an object')
  const entries = Object.entries(value as Record<string, unknown>)
  if (entries.length > 20) throw invalidRequest('authorizationParams may have at most 20 entries')
  for (const [name, param] of entries) {
    if (!PARAM_NAME.test(name)) throw invalidRequest(`authorizationParams: invalid parameter name "${name}"`)
    if (RESERVED_PARAMS.has(name)) throw invalidRequest(`authorizationParams: ${name} is set by the broker`)
    if (typeof param !== 'string' || param.length > 500) {
      throw invalidRequest(`authorizationParams.${name} must be a string of at most 500 characters`)
    }
  }
  return Object.fromEntries(entries) as Record<string, string>
}

/**
 * Validates a provider description and fills in its preset's defaults; explicit fields win over the preset.
 * `id` comes from the path on updates; `requireSecret` on creation.
 */
export function parseProviderInput(body: Body, options: { id?: string; requireSecret: boolean }): ProviderInput {
  const id = options.id ?? optionalString(body, 'id', 64)
  if (!id || !PROVIDER_ID.test(id)) {
    throw invalidRequest('id must be a slug: lowercase letters, digits and inner hyphens, at most 64 characters')
  }
  if (options.id !== undefined && body.id !== undefined && body.id !== options.id) {
    throw invalidRequest('id in the body differs from the one in the path')
  }

  const presetValue = body.preset ?? null
  if (presetValue !== null && !isPresetName(presetValue)) {
    throw invalidRequest('preset must be one of glimesh, goto, auth0, oidc')
  }
  const preset = presetValue as PresetName | null
  const domain = optionalString(body, 'domain', 253)
  const audience = optionalString(body, 'audience', 500)
  if ((domain !== undefined || audience !== undefined) && preset !== 'auth0') {
    throw invalidRequest('domain and audience are options of the auth0 preset')
  }
  const explicitIssuer = optionalString(body, 'issuer', 2048)
  let defaults
  try {
    defaults = preset ? presetDefaults(preset, { domain, audience, issuer: explicitIssuer }) : {}
  } catch (err) {
    if (err instanceof PresetError) throw invalidRequest(err.message)
    throw err
  }

  const url = (field: 'issuer' | 'authorizationEndpoint' | 'tokenEndpoint' | 'revocationEndpoint') => {
    const value = optionalString(body, field, 2048) ?? defaults[field]
    return value === undefined ? null : providerUrl(field, value)
  }
  const issuer = url('issuer')
  const authorizationEndpoint = url('authorizationEndpoint')
  const tokenEndpoint = url('tokenEndpoint')
  const revocationEndpoint = url('revocationEndpoint')
  if (issuer && (authorizationEndpoint || tokenEndpoint || revocationEndpoint)) {
    throw invalidRequest('give either issuer (endpoints come from discovery) or endpoint URLs, not both')
  }
  if (!issuer && !(authorizationEndpoint && tokenEndpoint)) {
    throw invalidRequest('give either issuer, or both authorizationEndpoint and tokenEndpoint')
  }

  const clientId = optionalString(body, 'clientId', 500)
  if (!clientId) throw invalidRequest('clientId is required')
  const clientSecret = optionalString(body, 'clientSecret', 2000)
  if (options.requireSecret && clientSecret === undefined) throw invalidRequest('clientSecret is required')

  const method = body.tokenEndpointAuthMethod ?? defaults.tokenEndpointAuthMethod ?? 'client_secret_basic'
  if (!authMethods.includes(method as TokenEndpointAuthMethod)) {
    throw invalidRequest(`tokenEndpointAuthMethod must be one of ${authMethods.join(', ')}`)
  }
  if (body.pkce !== undefined && typeof body.pkce !== 'boolean') throw invalidRequest('pkce must be true or false')

  return {
    id,
    preset,
    displayName: optionalString(body, 'displayName', 200) ?? null,
    issuer,
    authorizationEndpoint,
    tokenEndpoint,
    revocationEndpoint,
    clientId,
    ...(clientSecret === undefined ? {} : { clientSecret }),
    tokenEndpointAuthMethod: method as TokenEndpointAuthMethod,
    scopes: scopeList('scopes', body.scopes ?? defaults.scopes ?? []),
    authorizationParams: {
      ...defaults.authorizationParams,
      ...authorizationParams(body.authorizationParams),
    },
    pkce: (body.pkce as boolean | undefined) ?? true,
    defaultTokenLifetimeSeconds:
      optionalInt(body, 'defaultTokenLifetimeSeconds', 30, 31_536_000) ?? defaults.defaultTokenLifetimeSeconds ?? 3600,
    refreshMarginSeconds: optionalInt(body, 'refreshMarginSeconds', 0, 86_400) ?? null,
  }
}
