// A provider template: a provider's quirks as data (templates/*.yaml, TEMPLATES_FILE), and how the admin API shows it.
import { tokenEndpointAuthMethods } from '../providers/client-auth.js'
import { StringEnum, StringMap, Type, type Static } from './common.js'

export const TEMPLATE_NAME_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'

/** A URL that may hold `${connectionConfig.<name>}` placeholders; checked as a URL once they are filled in. */
const TemplateUrl = Type.String({ minLength: 8, maxLength: 2048 })

/** A dotted path into a JSON response (`authed_user.access_token`), or several, the first present wins. */
const ResponsePath = Type.Union([
  Type.String({ minLength: 1, maxLength: 200 }),
  Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 5 }),
])

const Params = StringMap(Type.String({ maxLength: 500 }), { maxProperties: 20 })

export const ConnectionConfigField = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    /** A regular expression the whole value must match. */
    pattern: Type.Optional(Type.String({ maxLength: 500 })),
    /** Used when the provider gives none; a field without a default is required. */
    default: Type.Optional(Type.String({ maxLength: 500 })),
    optional: Type.Optional(Type.Boolean({ description: 'Placeholders of a missing optional value are left out' })),
  },
  { additionalProperties: false },
)
export type ConnectionConfigField = Static<typeof ConnectionConfigField>

/** `body` maps response paths to the value (or one of the values) they must hold for the rule to apply. */
export const ErrorRule = Type.Object(
  {
    status: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1 })),
    body: StringMap(
      Type.Union([
        Type.String(),
        Type.Number(),
        Type.Boolean(),
        Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1 }),
      ]),
      { maxProperties: 5 },
    ),
    means: StringEnum(['reauthorize', 'transient', 'invalid_client'] as const, {
      description: 'reauthorize: the grant is dead; transient: try again later; invalid_client: our credentials',
    }),
  },
  { additionalProperties: false },
)
export type ErrorRule = Static<typeof ErrorRule>

export const Template = Type.Object(
  {
    name: Type.String({ pattern: TEMPLATE_NAME_PATTERN }),
    displayName: Type.String({ minLength: 1, maxLength: 200 }),
    docsUrl: Type.String({ pattern: '^https://', maxLength: 2048 }),
    authMode: StringEnum(['oauth2', 'oidc'] as const, { description: 'oidc: endpoints found by discovery' }),
    connectionConfig: Type.Optional(Type.Array(ConnectionConfigField, { maxItems: 10 })),
    issuer: Type.Optional(TemplateUrl),
    authorizationEndpoint: Type.Optional(TemplateUrl),
    tokenEndpoint: Type.Optional(TemplateUrl),
    /** Where refresh requests go when not to the token endpoint. */
    refreshEndpoint: Type.Optional(TemplateUrl),
    revocationEndpoint: Type.Optional(TemplateUrl),
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 100 })),
    scopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 3 })),
    /** How granted scopes are joined in token answers, when not as requested (GitHub: asked with spaces, answers commas). */
    grantedScopeSeparator: Type.Optional(Type.String({ minLength: 1, maxLength: 3 })),
    /** The authorization parameter the scopes go in (Slack's user tokens: `user_scope`). */
    scopeParameter: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]{1,64}$' })),
    authorizationParams: Type.Optional(Params),
    tokenParams: Type.Optional(Params),
    refreshParams: Type.Optional(Params),
    pkce: Type.Optional(Type.Boolean()),
    tokenEndpointAuthMethod: Type.Optional(StringEnum(tokenEndpointAuthMethods)),
    /** plain: base64(clientId:clientSecret) without RFC 6749's form encoding first. */
    basicCredentials: Type.Optional(StringEnum(['form', 'plain'] as const)),
    bodyFormat: Type.Optional(StringEnum(['form', 'json'] as const)),
    expiresInUnit: Type.Optional(StringEnum(['seconds', 'milliseconds'] as const)),
    tokenResponse: Type.Optional(
      Type.Object(
        {
          accessToken: Type.Optional(ResponsePath),
          refreshToken: Type.Optional(ResponsePath),
          expiresIn: Type.Optional(ResponsePath),
          scope: Type.Optional(ResponsePath),
          /** The account at the provider: kept as the connection's subject. */
          subject: Type.Optional(ResponsePath),
          /** Written over whatever the response says (Slack calls its user tokens `user`). */
          tokenType: Type.Optional(Type.String({ pattern: '^[A-Za-z]{1,20}$' })),
        },
        { additionalProperties: false },
      ),
    ),
    metadata: Type.Optional(
      Type.Object(
        {
          tokenResponse: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20 })),
          callbackQuery: Type.Optional(
            Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }), { maxItems: 20 }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    defaultTokenLifetimeSeconds: Type.Optional(Type.Integer({ minimum: 30, maximum: 31536000 })),
    refreshMarginSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86400 })),
    refreshTokenLifetimeSeconds: Type.Optional(
      Type.Integer({
        minimum: 3600,
        maximum: 63072000,
        description:
          'How long a refresh token lives from its issue when the token response has no refresh_token_expires_in; a rotated one starts again',
      }),
    ),
    errorRules: Type.Optional(Type.Array(ErrorRule, { maxItems: 20 })),
    notes: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
)
export type Template = Static<typeof Template>

/** One line of the catalogue, as `GET /admin/templates` lists it. */
export const TemplateSummary = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  docsUrl: Type.String(),
  authMode: Type.String(),
  connectionConfig: Type.Array(Type.String(), { description: 'Names of the values a provider must give' }),
})
export type TemplateSummary = Static<typeof TemplateSummary>

const exampleTemplate = {
  name: 'zendesk',
  displayName: 'Zendesk',
  docsUrl: 'https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/',
  authMode: 'oauth2',
  connectionConfig: [{ name: 'subdomain', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }],
  authorizationEndpoint: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/authorizations/new',
  tokenEndpoint: 'https://${connectionConfig.subdomain}.zendesk.com/oauth/tokens',
  scopes: ['read', 'write'],
}

/** A whole template, as `GET /admin/templates/:name` answers it. */
export const TemplateView = Type.Unsafe<Template>({ ...Template, example: exampleTemplate })

export const TemplateList = Type.Object(
  { items: Type.Array(TemplateSummary) },
  {
    description: 'The catalogue: built-in templates and those of TEMPLATES_FILE',
    example: {
      items: [
        {
          name: exampleTemplate.name,
          displayName: exampleTemplate.displayName,
          docsUrl: exampleTemplate.docsUrl,
          authMode: 'oauth2',
          connectionConfig: ['subdomain'],
        },
      ],
    },
  },
)
