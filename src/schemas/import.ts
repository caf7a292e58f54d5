// POST /admin/connections/import (one) and /import/bulk (NDJSON): tokens issued before the broker, stored as connections.
import { StringMap, Type, UserId, type Static } from './common.js'
import { Namespace } from './machine-connection.js'
import { ProviderRef } from './token.js'

const secret = (description: string) => Type.String({ minLength: 1, maxLength: 8192, description })

export const ImportBody = Type.Object(
  {
    namespace: Type.Optional(Namespace('The namespace whose callers share the connection')),
    provider: ProviderRef({ description: 'Provider id' }),
    userId: UserId,
    refreshToken: secret('The refresh token the provider issued (write-only, stored encrypted)'),
    accessToken: Type.Optional(
      secret('An access token still valid; without it (or `expiresAt`) the broker refreshes at once'),
    ),
    expiresAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'When `accessToken` expires (ISO 8601)' }),
    ),
    scope: Type.Optional(Type.String({ maxLength: 4096, description: 'Granted scopes, space-separated' })),
    subject: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'The account at the provider' })),
    metadata: Type.Optional(
      StringMap(Type.String({ maxLength: 500 }), {
        maxProperties: 32,
        description: 'Non-secret fields served beside the token (as a template keeps them)',
      }),
    ),
  },
  {
    additionalProperties: false,
    example: {
      namespace: 'billing',
      provider: 'google',
      userId: 'user-42',
      refreshToken: '<refresh token>',
      accessToken: '<access token>',
      expiresAt: '2026-01-01T11:00:00.000Z',
      scope: 'openid email offline_access',
    },
  },
)
export type ImportBody = Static<typeof ImportBody>

export const ImportSummary = Type.Object(
  {
    imported: Type.Integer({ description: 'New connections stored' }),
    updated: Type.Integer({ description: 'Existing connections whose tokens were replaced' }),
    unchanged: Type.Integer({ description: 'Lines already imported (same refresh token): left as they are' }),
    refreshed: Type.Integer({ description: 'Of those stored, how many were refreshed first (no usable access token)' }),
    refused: Type.Integer({ description: 'Lines not stored' }),
    errors: Type.Array(
      Type.Object({
        line: Type.Integer({ description: 'Line number in the body, from 1' }),
        error: Type.String(),
        message: Type.String(),
      }),
      { description: 'Why each refused line was refused; never a token' },
    ),
  },
  {
    description: 'What the import did, line by line counted',
    example: {
      imported: 998,
      updated: 0,
      unchanged: 0,
      refreshed: 3,
      refused: 2,
      errors: [{ line: 17, error: 'reauthorization_required', message: 'the provider refused the grant: …' }],
    },
  },
)
export type ImportSummary = Static<typeof ImportSummary>
