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

export const ClientCreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' }),
    namespace: Type.Optional(
      Type.String({
        pattern: NAMESPACE_PATTERN,
        default: DEFAULT_NAMESPACE,
        description:
          'The callers of one namespace share its connections; another namespace is invisible to them. Fixed at creation.',
      }),
    ),
    allowedProviders: Type.Optional(
      Type.Array(ProviderId(), {
        maxItems: 200,
        description: 'Provider ids this caller may start flows for and read tokens of',
      }),
    ),
    allowedReturnTo: Type.Optional(
      Type.Array(Type.String({ maxLength: 2048 }), {
        maxItems: 50,
        description:
          'URL prefixes the user may be sent back to: same origin, path under the prefix on a segment boundary. ' +
          'https, except on loopback hosts.',
      }),
    ),
  },
  {
    additionalProperties: false,
    example: {
      name: 'billing-service',
      namespace: 'billing',
      allowedProviders: ['glimesh'],
      allowedReturnTo: ['https://app.example.com/settings/'],
    },
  },
)
export type ClientCreateBody = Static<typeof ClientCreateBody>
