// Turns an admin's (or PROVIDERS_FILE's) provider description into the fields we store. The shapes are checked by the
// provider schema (src/schemas/provider.ts) before this runs; here are the rules a schema cannot say: which fields go
// together, template defaults, URL rules, scope and parameter syntax.
import { invalidRequest } from '../errors.js'
import { parsePrivateKey, PrivateKeyError, type TokenEndpointAuthMethod } from '../providers/client-auth.js'
import type { TemplateCatalogue } from '../providers/templates/catalogue.js'
import { PROVIDER_ID } from '../schemas/ids.js'
import type { ProviderCreateBody, ProviderReplaceBody } from '../schemas/provider.js'
import { serviceUrl } from '../urls/rules.js'
import { templateDefaults, type TemplateDefaults } from './provider-template.js'

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

/** The stored fields of a provider, validated; `clientSecret` or `privateKey` absent means "keep the one stored". */
export interface ProviderInput {
  id: string
  /** The template's name (stored in the `preset` column, the name it had first). */
  preset: string | null
  connectionConfig: Record<string, string>
  displayName: string | null
  issuer: string | null
  authorizationEndpoint: string | null
  tokenEndpoint: string | null
  revocationEndpoint: string | null
  clientId: string
  /** The client secrets in the order they are tried; absent: keep those stored. */
  clientSecret?: string[]
  /** private_key_jwt's key, PEM or JWK, checked to be a usable private key. */
  privateKey?: string
  tokenEndpointAuthMethod: TokenEndpointAuthMethod
  scopes: string[]
  allowedScopes: string[]
  authorizationParams: Record<string, string>
  pkce: boolean
  defaultTokenLifetimeSeconds: number
  refreshMarginSeconds: number | null
  refreshTokenLifetimeSeconds: number | null
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

type UrlField = 'issuer' | 'authorizationEndpoint' | 'tokenEndpoint' | 'revocationEndpoint'
const URL_FIELDS: readonly UrlField[] = ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'revocationEndpoint']

/** The template named by `template` (or its alias `preset`) and what it fills in for this body. */
function fromTemplate(body: ProviderBody, templates: TemplateCatalogue) {
  const name = body.template ?? body.preset
  if (body.template !== undefined && body.preset !== undefined && body.template !== body.preset) {
    throw invalidRequest('template and preset (its alias) name different templates')
  }
  if ((body.domain !== undefined || body.audience !== undefined) && name !== 'auth0') {
    throw invalidRequest('domain and audience are options of the auth0 template')
  }
  const given = {
    ...body.connectionConfig,
    ...(body.domain === undefined ? {} : { domain: body.domain }),
    ...(body.audience === undefined ? {} : { audience: body.audience }),
  }
  if (name === undefined) {
    if (Object.keys(given).length > 0) throw invalidRequest('connectionConfig needs a template')
    return { name: null, defaults: {} as TemplateDefaults, connectionConfig: {} }
  }
  const template = templates.get(name)
  if (!template) throw invalidRequest(`unknown template ${name} (GET /admin/templates lists them)`)
  // a provider that names its own issuer or endpoints (a self-hosted instance) takes none of the template's URLs
  const ownServer =
    body.issuer !== undefined || body.authorizationEndpoint !== undefined || body.tokenEndpoint !== undefined
  const overridden = new Set(URL_FIELDS.filter((field) => ownServer || body[field] !== undefined))
  return { name, ...templateDefaults(template, given, overridden) }
}

/**
 * Validates a provider description and fills in its template's defaults; explicit fields win over the template.
 * `id` comes from the path on updates; `requireSecret` on creation.
 */
export function parseProviderInput(
  body: ProviderBody,
  options: { id?: string; requireSecret: boolean; templates: TemplateCatalogue },
): ProviderInput {
  const id = options.id ?? body.id
  if (!id || !PROVIDER_ID.test(id)) {
    throw invalidRequest('id must be a slug: lowercase letters, digits and inner hyphens, at most 64 characters')
  }
  if (options.id !== undefined && body.id !== undefined && body.id !== options.id) {
    throw invalidRequest('id in the body differs from the one in the path')
  }
  const { name, defaults, connectionConfig } = fromTemplate(body, options.templates)

  const url = (field: UrlField) => {
    const value = body[field] ?? defaults[field]
    return value === undefined ? null : serviceUrl(field, value)
  }
  const issuer = url('issuer')
  const authorizationEndpoint = url('authorizationEndpoint')
  const tokenEndpoint = url('tokenEndpoint')
  const revocationEndpoint = url('revocationEndpoint')
  if (issuer && (authorizationEndpoint || tokenEndpoint)) {
    throw invalidRequest('give either issuer (endpoints come from discovery) or endpoint URLs, not both')
  }
  if (!issuer && !(authorizationEndpoint && tokenEndpoint)) {
    throw invalidRequest(
      name === null
        ? 'give either issuer, or both authorizationEndpoint and tokenEndpoint'
        : `the ${name} template needs issuer, or both authorizationEndpoint and tokenEndpoint`,
    )
  }
  const tokenEndpointAuthMethod =
    body.tokenEndpointAuthMethod ?? defaults.tokenEndpointAuthMethod ?? 'client_secret_basic'
  checkClientCredentials(body, tokenEndpointAuthMethod, options.requireSecret)

  return {
    id,
    preset: name,
    connectionConfig,
    displayName: body.displayName ?? null,
    issuer,
    authorizationEndpoint,
    tokenEndpoint,
    revocationEndpoint,
    clientId: body.clientId,
    ...(body.clientSecret === undefined ? {} : { clientSecret: clientSecrets(body.clientSecret) }),
    ...(body.privateKey === undefined ? {} : { privateKey: body.privateKey }),
    tokenEndpointAuthMethod,
    scopes: scopeList('scopes', body.scopes ?? defaults.scopes ?? []),
    allowedScopes: scopeList('allowedScopes', body.allowedScopes ?? []),
    authorizationParams: { ...defaults.authorizationParams, ...authorizationParams(body.authorizationParams) },
    pkce: body.pkce ?? defaults.pkce ?? true,
    defaultTokenLifetimeSeconds: body.defaultTokenLifetimeSeconds ?? defaults.defaultTokenLifetimeSeconds ?? 3600,
    refreshMarginSeconds: body.refreshMarginSeconds ?? defaults.refreshMarginSeconds ?? null,
    refreshTokenLifetimeSeconds: body.refreshTokenLifetimeSeconds ?? defaults.refreshTokenLifetimeSeconds ?? null,
  }
}

/** A private key goes with private_key_jwt only; on creation, the method's credential must be given. */
function checkClientCredentials(body: ProviderBody, method: TokenEndpointAuthMethod, required: boolean): void {
  if (body.privateKey !== undefined) {
    if (method !== 'private_key_jwt') {
      throw invalidRequest('privateKey is used with tokenEndpointAuthMethod private_key_jwt only')
    }
    try {
      parsePrivateKey(body.privateKey)
    } catch (err) {
      if (err instanceof PrivateKeyError) throw invalidRequest(err.message)
      throw err
    }
  }
  if (!required) return
  if (method === 'private_key_jwt') {
    if (body.privateKey === undefined) throw invalidRequest('privateKey is required with private_key_jwt')
  } else if (body.clientSecret === undefined) {
    throw invalidRequest('clientSecret is required')
  }
}

function clientSecrets(value: string | string[]): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (new Set(list).size !== list.length) throw invalidRequest('clientSecret: a secret appears twice in the list')
  return list
}
