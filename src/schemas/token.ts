// GET /tokens/:userId: what a caller asks for, and the token it gets.
import { Nullable, StringMap, Type, UserId, type Static } from './common.js'

/** A provider named by a caller (a lookup: any string, checked against the caller's allowedProviders). */
export const ProviderRef = (options: { description?: string } = {}) =>
  Type.String({ minLength: 1, maxLength: 64, example: 'google', ...options })

export const TokenParams = Type.Object({ userId: UserId })

/** Seconds a served token stays valid at least, unless the caller asks otherwise. */
export const DEFAULT_MIN_TTL_SECONDS = 60

export const TokenQuery = Type.Object({
  provider: Type.Optional(
    ProviderRef({ description: 'Provider id; optional when exactly one provider is configured' }),
  ),
  minTtl: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 86400,
      default: DEFAULT_MIN_TTL_SECONDS,
      description:
        'Seconds the token must stay valid; capped at half the lifetime the provider last granted (and at its refresh margin)',
    }),
  ),
  requiredScopes: Type.Optional(
    Type.String({
      maxLength: 4000,
      pattern: '^[^,]+(,[^,]+)*$',
      description:
        'Comma-separated scopes the granted scope must hold; 409 insufficient_scope with `missingScopes` otherwise',
      example: 'calendar.read,calendar.write',
    }),
  ),
})

export const Token = Type.Object(
  {
    accessToken: Type.String(),
    tokenType: Type.String({ description: 'Usually `Bearer`' }),
    expiresAt: Type.String({ format: 'date-time' }),
    scope: Nullable(Type.String({ description: 'Scopes the provider granted, space separated' })),
    provider: Type.String(),
    userId: Type.String(),
    metadata: StringMap(Type.String(), {
      description:
        "Non-secret fields the provider's template keeps from the token response and the callback, e.g. " +
        'Salesforce `instance_url`, QuickBooks `realmId`, Slack `team.id`; empty for most providers',
    }),
  },
  {
    description: 'A token valid for at least minTtl seconds',
    example: {
      accessToken: 'ya29.a0AfB_byC...',
      tokenType: 'Bearer',
      expiresAt: '2026-01-01T11:00:00.000Z',
      scope: 'api refresh_token',
      provider: 'salesforce',
      userId: 'user-42',
      metadata: { instance_url: 'https://example.my.salesforce.com' },
    },
  },
)
export type Token = Static<typeof Token>
