// Known providers, so an operator configures `{ preset, clientId, clientSecret }` and what the preset needs.
// A preset only fills defaults: every field given explicitly wins. Sources are cited in test/providers/presets.test.ts.

import type { TokenEndpointAuthMethod } from './client-auth.js'

export const presetNames = ['glimesh', 'goto', 'auth0', 'oidc'] as const
export type PresetName = (typeof presetNames)[number]

/** What a preset may fill in. */
export interface PresetDefaults {
  issuer?: string
  authorizationEndpoint?: string
  tokenEndpoint?: string
  revocationEndpoint?: string
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod
  scopes?: string[]
  authorizationParams?: Record<string, string>
  defaultTokenLifetimeSeconds?: number
}

/**
 * How client credentials go into an HTTP Basic header. RFC 6749 §2.3.1 form-encodes them first (openid-client does,
 * turning `-` into `%2D`); some providers document and expect the plain `base64(clientId:clientSecret)`.
 */
export type BasicCredentialsEncoding = 'form' | 'plain'

// GoTo: `echo -n "CLIENT_ID:CLIENT_SECRET" | base64` (https://developer.goto.com/guides/Authentication/03_HOW_accessToken/);
// its client ids are UUIDs, whose hyphens the form encoding would change.
const plainBasic = new Set<string>(['goto'])

export function basicCredentialsEncoding(preset: string | null): BasicCredentialsEncoding {
  return preset !== null && plainBasic.has(preset) ? 'plain' : 'form'
}

/** Preset-specific inputs: the Auth0 tenant's domain and the API audience. */
export interface PresetOptions {
  domain?: string
  audience?: string
  issuer?: string
}

export class PresetError extends Error {
  override name = 'PresetError'
}

const presets: Record<PresetName, (options: PresetOptions) => PresetDefaults> = {
  // Plain OAuth 2.0; the token endpoint takes client_id and client_secret as form parameters. Tokens live 6 hours.
  glimesh: () => ({
    authorizationEndpoint: 'https://glimesh.tv/oauth/authorize',
    tokenEndpoint: 'https://glimesh.tv/api/oauth/token',
    tokenEndpointAuthMethod: 'client_secret_post',
    scopes: ['public', 'email', 'chat', 'streamkey', 'follow', 'stream_info'],
    defaultTokenLifetimeSeconds: 21600,
  }),
  // Plain OAuth 2.0 with HTTP Basic client authentication. Scopes are set on the OAuth client, not requested.
  goto: () => ({
    authorizationEndpoint: 'https://authentication.logmeininc.com/oauth/authorize',
    tokenEndpoint: 'https://authentication.logmeininc.com/oauth/token',
    tokenEndpointAuthMethod: 'client_secret_basic',
    scopes: [],
    defaultTokenLifetimeSeconds: 3600,
  }),
  // OIDC discovery on the tenant domain; `audience` selects the API the access token is for; refresh tokens need
  // offline_access. Regular web applications authenticate at the token endpoint with client_secret_post by default.
  auth0: ({ domain, audience, issuer }) => {
    const resolved = issuer ?? (domain === undefined ? undefined : auth0Issuer(domain))
    if (!resolved) throw new PresetError('the auth0 preset needs domain (the tenant domain) or issuer')
    return {
      issuer: resolved,
      tokenEndpointAuthMethod: 'client_secret_post',
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      ...(audience === undefined ? {} : { authorizationParams: { audience } }),
    }
  },
  // Any OpenID Connect issuer, found by discovery.
  oidc: ({ issuer }) => {
    if (!issuer) throw new PresetError('the oidc preset needs issuer')
    return { issuer, scopes: ['openid'] }
  },
}

const DOMAIN = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/i

/** Auth0's issuer identifier is the tenant (or custom) domain with a trailing slash. */
export function auth0Issuer(domain: string): string {
  if (!DOMAIN.test(domain)) throw new PresetError('domain must be a host name such as example.us.auth0.com')
  return `https://${domain.toLowerCase()}/`
}

export function isPresetName(value: unknown): value is PresetName {
  return typeof value === 'string' && (presetNames as readonly string[]).includes(value)
}

export function presetDefaults(name: PresetName, options: PresetOptions = {}): PresetDefaults {
  return presets[name](options)
}
