// A provider: what the admin writes (POST/PUT /admin/providers, PROVIDERS_FILE) and what the admin API answers.
import { tokenEndpointAuthMethods } from '../providers/client-auth.js'
import { presetNames } from '../providers/presets.js'
import { DateTime, Nullable, ProviderId, ServiceUrl, StringEnum, StringMap, Type, type Static } from './common.js'

export const MAX_AUTHORIZATION_PARAMS = 20

const clientSecret = Type.String({ minLength: 1, maxLength: 2000, description: 'Write-only; stored encrypted' })

/** The settings an admin writes; which combinations are valid is checked by parseProviderInput. */
const writable = {
  preset: Type.Optional(
    StringEnum(presetNames, {
      description: 'Fills in endpoints, scopes and the client authentication method; explicit fields win',
    }),
  ),
  domain: Type.Optional(
    Type.String({ maxLength: 253, description: 'auth0 preset: the tenant domain, e.g. example.us.auth0.com' }),
  ),
  audience: Type.Optional(
    Type.String({ maxLength: 500, description: 'auth0 preset: the API identifier tokens are for' }),
  ),
  displayName: Type.Optional(Type.String({ maxLength: 200 })),
  issuer: Type.Optional(ServiceUrl({ description: 'For OpenID Connect discovery; https except on loopback hosts' })),
  authorizationEndpoint: Type.Optional(ServiceUrl()),
  tokenEndpoint: Type.Optional(ServiceUrl()),
  revocationEndpoint: Type.Optional(ServiceUrl()),
  clientId: Type.String({ minLength: 1, maxLength: 500 }),
  clientSecret: Type.Optional(clientSecret),
  tokenEndpointAuthMethod: Type.Optional(StringEnum(tokenEndpointAuthMethods)),
  scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
  allowedScopes: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
      maxItems: 500,
      description: 'Scopes POST /authorizations may ask for (400 invalid_scope otherwise); empty or left out: any',
    }),
  ),
  authorizationParams: Type.Optional(
    StringMap(Type.String({ maxLength: 500 }), {
      maxProperties: MAX_AUTHORIZATION_PARAMS,
      description: 'Extra authorization request parameters (not those the broker sets itself)',
    }),
  ),
  pkce: Type.Optional(Type.Boolean({ default: true })),
  defaultTokenLifetimeSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 31536000 })),
  refreshMarginSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 86400 }))),
}

export const ProviderCreateBody = Type.Object(
  {
    id: ProviderId({ description: 'A slug; part of the redirect URI' }),
    ...writable,
    clientSecret,
  },
  {
    additionalProperties: false,
    example: { id: 'glimesh', preset: 'glimesh', clientId: '3b1f0c2a-8d4e-4f6a', clientSecret: '<client secret>' },
  },
)
export type ProviderCreateBody = Static<typeof ProviderCreateBody>

export const ProviderReplaceBody = Type.Object(
  { id: Type.Optional(Type.String()), ...writable },
  {
    additionalProperties: false,
    description: 'Replaces every setting; the client secret only when given',
    example: { preset: 'auth0', domain: 'example.us.auth0.com', audience: 'https://api.example.com', clientId: 'abc' },
  },
)
export type ProviderReplaceBody = Static<typeof ProviderReplaceBody>

/** A PROVIDERS_FILE entry: a provider whose secret is named by an environment variable, never written in the file. */
export const ProviderFileEntry = Type.Object(
  {
    id: ProviderCreateBody.properties.id,
    ...withoutSecret(writable),
    clientSecretEnv: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$',
      description: 'The environment variable that holds the client secret',
    }),
  },
  { additionalProperties: false },
)

export type ProviderFileEntry = Static<typeof ProviderFileEntry>

function withoutSecret<T extends { clientSecret: unknown }>({
  clientSecret: _secret,
  ...rest
}: T): Omit<T, 'clientSecret'> {
  return rest
}

export const providerExample = {
  id: 'glimesh',
  preset: 'glimesh',
  displayName: 'Glimesh',
  issuer: null,
  authorizationEndpoint: 'https://glimesh.tv/oauth/authorize',
  tokenEndpoint: 'https://glimesh.tv/api/oauth/token',
  revocationEndpoint: null,
  clientId: '3b1f0c2a-8d4e-4f6a-9b7c-1d2e3f4a5b6c',
  hasClientSecret: true,
  tokenEndpointAuthMethod: 'client_secret_post',
  scopes: ['public', 'email', 'chat', 'streamkey', 'follow', 'stream_info'],
  allowedScopes: [],
  authorizationParams: {},
  pkce: true,
  defaultTokenLifetimeSeconds: 21600,
  refreshMarginSeconds: null,
  credentialsStatus: 'ok',
  credentialsError: null,
  credentialsCheckedAt: null,
  redirectUri: 'https://broker.example.com/oauth/glimesh/callback',
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}

const nullableString = Nullable(Type.String())

/** A provider as the admin API answers it: the client secret is write-only. */
export const ProviderView = Type.Object(
  {
    id: Type.String(),
    preset: Nullable(Type.String({ description: 'The preset its defaults came from' })),
    displayName: nullableString,
    issuer: Nullable(Type.String({ description: 'OpenID Connect issuer (endpoints found by discovery)' })),
    authorizationEndpoint: nullableString,
    tokenEndpoint: nullableString,
    revocationEndpoint: nullableString,
    clientId: Type.String(),
    hasClientSecret: Type.Boolean({ description: 'The client secret itself is never returned' }),
    tokenEndpointAuthMethod: StringEnum(tokenEndpointAuthMethods),
    scopes: Type.Array(Type.String()),
    allowedScopes: Type.Array(Type.String(), { description: 'Scopes a flow may ask for; empty: any' }),
    authorizationParams: StringMap(Type.String()),
    pkce: Type.Boolean(),
    defaultTokenLifetimeSeconds: Type.Integer({
      description: 'Lifetime assumed for access tokens granted without expires_in',
    }),
    refreshMarginSeconds: Nullable(
      Type.Integer({ description: 'Refresh this long before expiry instead of REFRESH_WINDOW_SECONDS' }),
    ),
    credentialsStatus: Type.String({
      description: 'Read-only: `ok`, or what the provider last said about our client credentials',
    }),
    credentialsError: nullableString,
    credentialsCheckedAt: Nullable(DateTime()),
    redirectUri: Type.String({ description: 'Register this at the provider' }),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { example: providerExample },
)
export type ProviderView = Static<typeof ProviderView>
