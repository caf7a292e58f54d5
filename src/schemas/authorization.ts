// POST /authorizations: what a caller asks for, and the start link it gets.
import { DateTime, Nullable, Type, type Static } from './common.js'

/** A start link is valid this long; once opened, the flow has this long again to come back. */
export const FLOW_TTL_SECONDS = 600

export const AuthorizationBody = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 64, description: 'Provider id; one of your allowedProviders' }),
    userId: Type.String({ minLength: 1, maxLength: 256, description: 'Your identifier for the user' }),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 100,
        description: "Scopes to request instead of the provider's configured ones",
      }),
    ),
    returnTo: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 2048,
        description:
          'Where the browser goes when the flow ends, with `status=connected` or `status=error&error=<code>` added; ' +
          'must lie under one of your allowedReturnTo prefixes. Without it the broker shows a small page.',
      }),
    ),
    allowAccountChange: Type.Optional(
      Type.Boolean({
        description:
          'Accept another account at the provider than the one the connection holds (its previous grant is then ' +
          'revoked); without it such a flow ends with `error=account_mismatch` and nothing stored',
      }),
    ),
    confirm: Type.Optional(
      Type.Boolean({
        description:
          'Store nothing yet: the browser goes to `returnTo` with `status=pending&result=<code>`, and your backend ' +
          'confirms the user with POST /authorizations/confirm within 10 minutes. Needs `returnTo`.',
      }),
    ),
  },
  {
    additionalProperties: false,
    example: { provider: '<provider-id>', userId: 'user-42', returnTo: 'https://app.example.com/settings/connections' },
  },
)
export type AuthorizationBody = Static<typeof AuthorizationBody>

export const CreatedAuthorization = Type.Object(
  {
    id: Type.String(),
    url: Type.String({ format: 'uri' }),
    expiresAt: DateTime(),
  },
  {
    description: `The start link to open in the user's browser: single use, valid ${FLOW_TTL_SECONDS / 60} minutes`,
    example: {
      id: 'q3Jx9bV0c2lR8mTt1YwZpA',
      url: 'https://broker.example.com/oauth/start/q3Jx9bV0c2lR8mTt1YwZpA',
      expiresAt: '2026-01-01T10:10:00.000Z',
    },
  },
)
export type CreatedAuthorization = Static<typeof CreatedAuthorization>

export const ConfirmBody = Type.Object(
  {
    result: Type.String({ minLength: 1, maxLength: 256, description: 'The `result` returnTo received' }),
    userId: Type.String({
      minLength: 1,
      maxLength: 256,
      description: "The user your backend's own session belongs to; must be the flow's userId",
    }),
  },
  { additionalProperties: false, example: { result: 'Zk2m…', userId: 'user-42' } },
)
export type ConfirmBody = Static<typeof ConfirmBody>

export const ConfirmedConnection = Type.Object(
  {
    provider: Type.String(),
    userId: Type.String(),
    status: Type.Unsafe<'connected'>({ type: 'string', enum: ['connected'] }),
    expiresAt: DateTime(),
    scope: Nullable(Type.String()),
  },
  {
    description: 'The connection is stored',
    example: {
      provider: 'google',
      userId: 'user-42',
      status: 'connected',
      expiresAt: '2026-01-01T11:00:00.000Z',
      scope: 'openid email',
    },
  },
)
