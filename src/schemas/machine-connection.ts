// PUT /admin/machine-connections/:provider/:name: a connection whose tokens come from the client-credentials grant.
import { Type, UserId, type Static } from './common.js'
import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN } from './ids.js'
import { ProviderRef } from './token.js'

export const Namespace = (description: string) =>
  Type.String({ pattern: NAMESPACE_PATTERN, default: DEFAULT_NAMESPACE, description })

export const MachineConnectionParams = Type.Object({
  provider: ProviderRef(),
  name: Type.String({
    ...UserId,
    description: 'The machine connection’s name: the `userId` its callers give to GET /tokens',
    example: 'reporting-job',
  }),
})

export const MachineConnectionBody = Type.Object(
  {
    namespace: Type.Optional(Namespace('The namespace whose callers may read its token')),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 100,
        description: 'Scopes asked for at every grant; none: what the provider grants the client by default',
      }),
    ),
  },
  { additionalProperties: false, example: { namespace: 'billing', scopes: ['reports.read'] } },
)
export type MachineConnectionBody = Static<typeof MachineConnectionBody>

export const MachineConnectionQuery = Type.Object(
  { namespace: Type.Optional(Namespace('The namespace of the machine connection')) },
  { additionalProperties: false },
)
