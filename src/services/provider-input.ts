// Turns an admin's (or PROVIDERS_FILE's) provider description into the fields we store. The shapes are checked by the
// provider schema (src/schemas/provider.ts) before this runs; here are the rules a schema cannot say: which fields go
// together, preset defaults, URL rules, scope and parameter syntax.
import { invalidRequest } from '../errors.js'
import type { TokenEndpointAuthMethod } from '../providers/client-auth.js'
import { isPresetName, presetDefaults, PresetError, type PresetName } from '../providers/presets.js'
import { PROVIDER_ID } from '../schemas/ids.js'
import type { ProviderCreateBody, ProviderReplaceBody } from '../schemas/provider.js'
import { serviceUrl } from '../urls/rules.js'

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
  allowedScopes: string[]
  authorizationParams: Record<string, string>
  pkce: boolean
  defaultTokenLifetimeSeconds: number
  refreshMarginSeconds: number | null
}

export type ProviderBody = ProviderCreateBody | ProviderReplaceBody

/** Scopes as OAuth scope tokens, without repeats. */
export function scopeList(field: string, value: readonly string[]): string[] {
  for (const scope of value) {
    if (!SCOPE_TOKEN.test(scope)) {
      throw invalidRequest(`${field} must hold OAuth scope tokens (printable ASCII, no spaces or quotes)`)
    }
  }
  return [...new Set(value)]
}

function authorizationParams(value: Record<string, string> | undefined): Record<string, string> {
  for (const name of Object.keys(value ?? {})) {
    if (!PARAM_NAME.test(name)) throw invalidRequest(`authorizationParams: invalid parameter name "${name}"`)
    if (RESERVED_PARAMS.has(name)) throw invalidRequest(`authorizationParams: ${name} is set by the broker`)
  }
  return { ...value }
}

/**
 * Validates a provider description and fills in its preset's defaults; explicit fields win over the preset.
 * `id` comes from the path on updates; `requireSecret` on creation.
 */
export function parseProviderInput(
  body: ProviderBody,
  options: { id?: string; requireSecret: boolean },
): ProviderInput {
  const id = options.id ?? body.id
  if (!id || !PROVIDER_ID.test(id)) {
    throw invalidRequest('id must be a slug: lowercase letters, digits and inner hyphens, at most 64 characters')
  }
  if (options.id !== undefined && body.id !== undefined && body.id !== options.id) {
    throw invalidRequest('id in the body differs from the one in the path')
  }

  const preset = body.preset ?? null
  if (preset !== null && !isPresetName(preset)) throw invalidRequest('unknown preset')
  if ((body.domain !== undefined || body.audience !== undefined) && preset !== 'auth0') {
    throw invalidRequest('domain and audience are options of the auth0 preset')
  }
  let defaults
  try {
    defaults = preset
      ? presetDefaults(preset, { domain: body.domain, audience: body.audience, issuer: body.issuer })
      : {}
  } catch (err) {
    if (err instanceof PresetError) throw invalidRequest(err.message)
    throw err
  }

  const url = (field: 'issuer' | 'authorizationEndpoint' | 'tokenEndpoint' | 'revocationEndpoint') => {
    const value = body[field] ?? defaults[field]
    return value === undefined ? null : serviceUrl(field, value)
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
  if (options.requireSecret && body.clientSecret === undefined) throw invalidRequest('clientSecret is required')

  return {
    id,
    preset,
    displayName: body.displayName ?? null,
    issuer,
    authorizationEndpoint,
    tokenEndpoint,
    revocationEndpoint,
    clientId: body.clientId,
    ...(body.clientSecret === undefined ? {} : { clientSecret: body.clientSecret }),
    tokenEndpointAuthMethod: body.tokenEndpointAuthMethod ?? defaults.tokenEndpointAuthMethod ?? 'client_secret_basic',
    scopes: scopeList('scopes', body.scopes ?? defaults.scopes ?? []),
    allowedScopes: scopeList('allowedScopes', body.allowedScopes ?? []),
    authorizationParams: { ...defaults.authorizationParams, ...authorizationParams(body.authorizationParams) },
    pkce: body.pkce ?? true,
    defaultTokenLifetimeSeconds: body.defaultTokenLifetimeSeconds ?? defaults.defaultTokenLifetimeSeconds ?? 3600,
    refreshMarginSeconds: body.refreshMarginSeconds ?? null,
  }
}
