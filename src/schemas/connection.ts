// A stored connection as the admin sees it: state and timing, never a token.
import { DateTime, Nullable, pageQuery, StringEnum, Type, Uuid, type Static } from './common.js'

export const connectionStatuses = ['active', 'reauthorization_required'] as const
export const grantTypes = ['authorization_code', 'client_credentials'] as const

export const connectionExample = {
  id: '0b6f3c52-5b1e-4d47-9a55-2f4c8d1f7e21',
  namespace: 'billing',
  provider: 'google',
  userId: 'user-42',
  status: 'active',
  grantType: 'authorization_code',
  subject: '10769150350006150715113082367',
  scope: 'openid email offline_access',
  tokenType: 'Bearer',
  hasRefreshToken: true,
  expiresAt: '2026-01-01T11:00:00.000Z',
  nextRefreshAt: '2026-01-01T10:55:00.000Z',
  lastRefreshedAt: '2026-01-01T10:00:00.000Z',
  refreshTokenExpiresAt: '2026-03-01T10:00:00.000Z',
  failureCount: 0,
  lastError: null,
  lastErrorAt: null,
  lease: null,
  createdByClientId: '5a1d2c3b-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T10:00:00.000Z',
}

const nullableString = (description: string) => Nullable(Type.String({ description }))

export const ConnectionView = Type.Object(
  {
    id: Uuid(),
    namespace: Type.String({ description: 'The namespace whose callers share the connection' }),
    provider: Type.String({ description: 'Provider id' }),
    userId: Type.String(),
    status: Type.String({ description: '`active` or `reauthorization_required`' }),
    grantType: StringEnum(grantTypes, {
      description:
        'How its tokens are renewed: `authorization_code`, a user’s refresh token (a flow or an import); ' +
        '`client_credentials`, a machine connection asking again',
    }),
    subject: nullableString('The `sub` of the ID token, for OpenID Connect providers'),
    scope: nullableString('Scopes the provider granted'),
    tokenType: Type.String(),
    hasRefreshToken: Type.Boolean(),
    expiresAt: Nullable(
      DateTime({ description: 'When the stored access token expires; null when the provider did not say' }),
    ),
    nextRefreshAt: Nullable(DateTime({ description: 'When the scheduler refreshes next' })),
    lastRefreshedAt: Nullable(DateTime()),
    refreshTokenExpiresAt: Nullable(
      DateTime({
        description:
          'When the provider stops accepting the refresh token (its refresh_token_expires_in, or the template rule); null when unknown. connection.expiring is sent EXPIRY_WARNING_SECONDS before',
      }),
    ),
    failureCount: Type.Integer({ description: 'Refresh failures since the last success' }),
    lastError: nullableString('The error code of the last failed refresh'),
    lastErrorAt: Nullable(DateTime()),
    lease: Nullable(
      Type.Object(
        { owner: Type.String(), expiresAt: Nullable(DateTime()) },
        { description: 'The instance refreshing the connection right now, if any' },
      ),
    ),
    createdByClientId: nullableString('The internal caller whose flow created it'),
    createdAt: DateTime(),
    updatedAt: DateTime(),
  },
  { example: connectionExample },
)
export type ConnectionView = Static<typeof ConnectionView>

export const ConnectionListQuery = Type.Object(
  {
    namespace: Type.Optional(Type.String({ maxLength: 63, description: 'Only connections of this namespace' })),
    provider: Type.Optional(Type.String({ description: 'Only connections to this provider' })),
    status: Type.Optional(StringEnum(connectionStatuses)),
    userId: Type.Optional(Type.String({ description: 'Only connections of this user' })),
    ...pageQuery,
  },
  { additionalProperties: false },
)

export const ConnectionIdParams = Type.Object({ id: Type.String({ description: 'Connection id' }) })
