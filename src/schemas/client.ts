// An internal caller (POST/GET/DELETE /admin/clients).
import { DateTime, Nullable, ProviderId, Type, Uuid, type Static } from './common.js'
import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN } from './ids.js'

export const clientExample = {
  id: '5a1d2c3b-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  name: 'billing-service',
  namespace: 'billing',
  keyPrefix: 'tbk_Xq3v9a',
  allowedProviders: ['glimesh'],
  allowedReturnTo: ['https://app.example.com/settings/'],
  createdAt: '2026-01-01T09:00:00.000Z',
  revokedAt: null,
  keyRotatedAt: null,
  previousKeyExpiresAt: null,
}

const clientProperties = {
  id: Uuid(),
  name: Type.String(),
  namespace: Type.String({ description: 'The only namespace whose connections the caller sees' }),
  keyPrefix: Type.String({ description: 'The first characters of the API key, to recognise it' }),
  allowedProviders: Type.Array(Type.String()),
  allowedReturnTo: Type.Array(Type.String()),
  createdAt: DateTime(),
  revokedAt: Nullable(DateTime()),
  keyRotatedAt: Nullable(DateTime({ description: 'When the API key was last rotated' })),
  previousKeyExpiresAt: Nullable(
    DateTime({ description: 'Until when the key replaced by the last rotation still works (null: it no longer does)' }),
  ),
}

/** An internal caller as the admin API answers it: never its key (only at creation) nor the key's hash. */
export const ClientView = Type.Object(clientProperties, { example: clientExample })
export type ClientView = Static<typeof ClientView>

export const CreatedClient = Type.Object(
  { ...clientProperties, apiKey: Type.String({ description: 'Send as `Authorization: Bearer <apiKey>`' }) },
  {
    description: 'The caller and its API key: shown this once, stored only as a hash',
    example: { ...clientExample, apiKey: 'tbk_Xq3v9a…' },
  },
)

const name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' })
const allowedProviders = Type.Array(ProviderId(), {
  maxItems: 200,
  description: 'Provider ids this caller may start flows for and read tokens of; each must exist',
})
const allowedReturnTo = Type.Array(Type.String({ maxLength: 2048 }), {
  maxItems: 50,
  description:
    'URL prefixes the user may be sent back to: same origin, path under the prefix on a segment boundary. ' +
    'https, except on loopback hosts.',
})

export const ClientCreateBody = Type.Object(
  {
    name,
    namespace: Type.Optional(
      Type.String({
        pattern: NAMESPACE_PATTERN,
        default: DEFAULT_NAMESPACE,
        description:
          'The callers of one namespace share its connections; another namespace is invisible to them. Fixed at creation.',
      }),
    ),
    allowedProviders: Type.Optional(allowedProviders),
    allowedReturnTo: Type.Optional(allowedReturnTo),
  },
  {
    additionalProperties: false,
    example: {
      name: '<service name>',
      namespace: '<namespace>',
      allowedProviders: ['<provider-id>'],
      allowedReturnTo: ['https://app.example.com/settings/'],
    },
  },
)
export type ClientCreateBody = Static<typeof ClientCreateBody>

/** PATCH /admin/clients/:id: the fields given replace the stored ones (lists as a whole). */
export const ClientUpdateBody = Type.Object(
  {
    name: Type.Optional(name),
    allowedProviders: Type.Optional(allowedProviders),
    allowedReturnTo: Type.Optional(allowedReturnTo),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    example: { allowedProviders: ['<provider-id>'] },
  },
)
export type ClientUpdateBody = Static<typeof ClientUpdateBody>

export const MAX_KEY_GRACE_SECONDS = 604_800
export const DEFAULT_KEY_GRACE_SECONDS = 3_600

export const RotateKeyBody = Type.Object(
  {
    graceSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_KEY_GRACE_SECONDS,
        default: DEFAULT_KEY_GRACE_SECONDS,
        description: 'How long the previous key keeps working (0: it stops at once, within the key cache)',
      }),
    ),
  },
  { additionalProperties: false, example: { graceSeconds: DEFAULT_KEY_GRACE_SECONDS } },
)
export type RotateKeyBody = Static<typeof RotateKeyBody>
