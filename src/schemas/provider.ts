// A provider: what the admin writes (POST/PUT /admin/providers, PROVIDERS_FILE) and what the admin API answers.
import { tokenEndpointAuthMethods } from '../providers/client-auth.js'
import { MAX_CLIENT_SECRETS } from '../providers/client-secrets.js'
import { DateTime, Nullable, ProviderId, ServiceUrl, StringEnum, StringMap, Type, type Static } from './common.js'
import { TEMPLATE_NAME_PATTERN } from './template.js'

export const MAX_AUTHORIZATION_PARAMS = 20

const secret = Type.String({ minLength: 1, maxLength: 2000 })
const clientSecret = Type.Union([secret, Type.Array(secret, { minItems: 1, maxItems: MAX_CLIENT_SECRETS })], {
  description:
    'Write-only; stored encrypted. A list during a rotation: the first is used, the next ones are tried (in order) when the provider answers invalid_client, and the one accepted is moved first',
})
const privateKey = Type.String({
  minLength: 1,
  maxLength: 20000,
  description:
    'private_key_jwt (RFC 7523): the private key signing client assertions, as PEM or as a JWK (its `kid` is sent); RSA (RS256, or the JWK `alg`), EC or Ed25519. Write-only; stored encrypted',
})

/** The settings an admin writes; which combinations are valid is checked by parseProviderInput. */
const writable = {
  template: Type.Optional(
    Type.String({
      pattern: TEMPLATE_NAME_PATTERN,
      description: 'A catalogue template (GET /admin/templates): fills in what it sets; explicit fields win',
    }),
  ),
  preset: Type.Optional(Type.String({ pattern: TEMPLATE_NAME_PATTERN, description: 'The same as `template`' })),
  connectionConfig: Type.Optional(
    StringMap(Type.String({ minLength: 1, maxLength: 500 }), {
      maxProperties: 10,
      description: "Values of the template's `${connectionConfig.<name>}` placeholders, e.g. a Zendesk subdomain",
    }),
  ),
  domain: Type.Optional(
    Type.String({ maxLength: 253, description: 'auth0 template: connectionConfig.domain, the tenant domain' }),
  ),
  audience: Type.Optional(
    Type.String({ maxLength: 500, description: 'auth0 template: connectionConfig.audience, the API tokens are for' }),
  ),
  displayName: Type.Optional(Type.String({ maxLength: 200 })),
  issuer: Type.Optional(ServiceUrl({ description: 'For OpenID Connect discovery; https except on loopback hosts' })),
  authorizationEndpoint: Type.Optional(ServiceUrl()),
  tokenEndpoint: Type.Optional(ServiceUrl()),
  revocationEndpoint: Type.Optional(ServiceUrl()),
  clientId: Type.String({ minLength: 1, maxLength: 500 }),
  clientSecret: Type.Optional(clientSecret),
  privateKey: Type.Optional(privateKey),
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
  pkce: Type.Optional(Type.Boolean({ description: "PKCE S256; default: the template's, else true" })),
  defaultTokenLifetimeSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 31536000 })),
  refreshMarginSeconds: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 86400 }))),
  refreshTokenLifetimeSeconds: Type.Optional(
    Nullable(
      Type.Integer({
        minimum: 3600,
        maximum: 63072000,
        description:
          "How long a refresh token lives from its issue when the provider does not say (refresh_token_expires_in), e.g. 604800 for a Google app in testing; default: the template's",
      }),
    ),
  ),
}

export const ProviderCreateBody = Type.Object(
  {
    id: ProviderId({ description: 'A slug; part of the redirect URI' }),
    ...writable,
  },
  {
    additionalProperties: false,
    // placeholders in <angle brackets> fail validation: Swagger UI's Execute on an unedited example creates nothing
    example: { id: '<provider-id>', template: 'glimesh', clientId: '<client id>', clientSecret: '<client secret>' },
  },
)
export type ProviderCreateBody = Static<typeof ProviderCreateBody>

export const ProviderReplaceBody = Type.Object(
  { id: Type.Optional(Type.String()), ...writable },
  {
    additionalProperties: false,
    description: 'Replaces every setting; the client secret only when given',
    example: { template: 'zendesk', connectionConfig: { subdomain: '<subdomain>' }, clientId: '<client id>' },
  },
)
export type ProviderReplaceBody = Static<typeof ProviderReplaceBody>

const ENV_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,127}$'
const envName = Type.String({ pattern: ENV_NAME })

/** A PROVIDERS_FILE entry: a provider whose secret is named by an environment variable, never written in the file. */
export const ProviderFileEntry = Type.Object(
  {
    id: ProviderCreateBody.properties.id,
    ...withoutSecret(writable),
    clientSecretEnv: Type.Optional(
      Type.Union([envName, Type.Array(envName, { minItems: 1, maxItems: MAX_CLIENT_SECRETS, uniqueItems: true })], {
        description:
          'The environment variable that holds the client secret; a list of them during a rotation, their secrets ' +
          'in that order (as a list clientSecret: the first used, the next ones tried on invalid_client)',
      }),
    ),
    privateKeyEnv: Type.Optional(
      Type.String({
        pattern: ENV_NAME,
        description: 'private_key_jwt: the environment variable that holds the private key (PEM or JWK)',
      }),
    ),
  },
  { additionalProperties: false },
)

export type ProviderFileEntry = Static<typeof ProviderFileEntry>

function withoutSecret<T extends { clientSecret: unknown; privateKey: unknown }>({
  clientSecret: _secret,
  privateKey: _key,
  ...rest
}: T): Omit<T, 'clientSecret' | 'privateKey'> {
  return rest
}

export const providerExample = {
  id: 'glimesh',
  template: 'glimesh',
  preset: 'glimesh',
  connectionConfig: {},
  displayName: 'Glimesh',
  issuer: null,
  authorizationEndpoint: 'https://glimesh.tv/oauth/authorize',
  tokenEndpoint: 'https://glimesh.tv/api/oauth/token',
  revocationEndpoint: null,
  clientId: '3b1f0c2a-8d4e-4f6a-9b7c-1d2e3f4a5b6c',
  hasClientSecret: true,
  hasFallbackClientSecrets: false,
  hasPrivateKey: false,
  tokenEndpointAuthMethod: 'client_secret_post',
  scopes: ['public', 'email', 'chat', 'streamkey', 'follow', 'stream_info'],
  allowedScopes: [],
  authorizationParams: {},
  pkce: true,
  defaultTokenLifetimeSeconds: 21600,
  refreshMarginSeconds: null,
  refreshTokenLifetimeSeconds: null,
  credentialsStatus: 'ok',
  credentialsError: null,
  credentialsCheckedAt: null,
  redirectUri: 'https://broker.example.com/oauth/glimesh/callback',
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}

/** POST /admin/providers/:id/check. */
export const ProviderCheckResult = Type.Object(
  {
    ok: Type.Boolean({ description: 'Whether every check passed' }),
    checks: Type.Array(
      Type.Object({
        name: Type.String({ example: 'issuer_matches' }),
        ok: Type.Boolean(),
        detail: Type.String({ description: 'What was found, and what to change when it failed' }),
      }),
    ),
  },
  {
    description: 'Discovery or endpoints reachable, issuer matching, endpoints https',
    example: {
      ok: false,
      checks: [
        {
          name: 'issuer_matches',
          ok: false,
          detail: "the provider's issuer is https://example.us.auth0.com/, with a trailing slash: set exactly that",
        },
      ],
    },
  },
)
export type ProviderCheckResult = Static<typeof ProviderCheckResult>

export const ProviderCreateQuery = Type.Object(
  {
    check: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Refuse (400 provider_check_failed) a provider that fails its check',
      }),
    ),
  },
  { additionalProperties: false },
)

const nullableString = Nullable(Type.String())

/** A provider as the admin API answers it: the client secret is write-only. */
export const ProviderView = Type.Object(
  {
    id: Type.String(),
    template: Nullable(Type.String({ description: 'The template its defaults and quirks come from' })),
    preset: Nullable(Type.String({ description: 'The same as `template`' })),
    connectionConfig: StringMap(Type.String(), { description: "The values of its template's placeholders" }),
    displayName: nullableString,
    issuer: Nullable(Type.String({ description: 'OpenID Connect issuer (endpoints found by discovery)' })),
    authorizationEndpoint: nullableString,
    tokenEndpoint: nullableString,
    revocationEndpoint: nullableString,
    clientId: Type.String(),
    hasClientSecret: Type.Boolean({ description: 'The client secret itself is never returned' }),
    hasFallbackClientSecrets: Type.Boolean({
      description: 'Whether client secrets besides the first are held, for a rotation in progress',
    }),
    hasPrivateKey: Type.Boolean({ description: 'Whether a private_key_jwt key is stored (never returned)' }),
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
    refreshTokenLifetimeSeconds: Nullable(
      Type.Integer({ description: 'Refresh token lifetime assumed when the provider does not say' }),
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
