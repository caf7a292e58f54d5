// POST /authorizations: what a caller asks for, and the start link it gets.
import { DateTime, Type, type Static } from './common.js'

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
  },
  {
    additionalProperties: false,
    example: { provider: 'glimesh', userId: 'user-42', returnTo: 'https://app.example.com/settings/connections' },
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
