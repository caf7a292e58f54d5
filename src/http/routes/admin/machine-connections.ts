import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ConnectionView } from '../../../schemas/connection.js'
import { DEFAULT_NAMESPACE } from '../../../schemas/ids.js'
import {
  MachineConnectionBody,
  MachineConnectionParams,
  MachineConnectionQuery,
} from '../../../schemas/machine-connection.js'
import {
  adminErrors,
  adminSecurity,
  errorResponse,
  invalidRequestResponse,
  noContent,
  notFoundResponse,
} from '../../schemas.js'

/** Connections of the broker's own client at a provider (client-credentials grant): created, replaced, deleted. */
const adminMachineConnectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { machineConnections, connections } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.put(
    '/machine-connections/:provider/:name',
    {
      schema: {
        tags: ['admin'],
        summary: 'Create or replace a machine connection: a token from the provider’s client-credentials grant',
        description:
          'The grant is asked for at once; nothing is stored when the provider refuses it. The token is served by ' +
          '`GET /tokens/:name?provider=` to callers of the namespace allowed the provider, and renewed before it ' +
          'expires by asking again.',
        security: adminSecurity,
        params: MachineConnectionParams,
        body: MachineConnectionBody,
        response: {
          200: { ...ConnectionView, description: 'Replaced with a new token' },
          201: { ...ConnectionView, description: 'Created' },
          400: invalidRequestResponse('body/scopes must be array'),
          404: notFoundResponse('provider'),
          409: errorResponse('A user connection of this provider has the name', {
            error: 'conflict',
            message: 'a user connection of this provider has this name; a machine connection needs a name of its own',
          }),
          502: errorResponse('The provider refused the grant (our client, its scopes): nothing stored', {
            error: 'provider_refused',
            message: 'provider answered invalid_scope (HTTP 400)',
          }),
          503: errorResponse('The provider failed: nothing stored', {
            error: 'provider_unavailable',
            message: 'provider answered HTTP 503',
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { provider, name } = request.params
      const { namespace = DEFAULT_NAMESPACE, scopes = [] } = request.body ?? {}
      const { id, created } = await machineConnections.put({ namespace, providerId: provider, userId: name }, scopes)
      return reply.code(created ? 201 : 200).send(await connections.get(id))
    },
  )

  app.delete(
    '/machine-connections/:provider/:name',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke (where the provider can) and delete a machine connection',
        security: adminSecurity,
        params: MachineConnectionParams,
        querystring: MachineConnectionQuery,
        response: {
          204: noContent('Revoked (where supported) and deleted'),
          404: notFoundResponse('machine connection'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { provider, name } = request.params
      const namespace = request.query.namespace ?? DEFAULT_NAMESPACE
      await machineConnections.remove({ namespace, providerId: provider, userId: name })
      return reply.code(204).send(null)
    },
  )
}

export default adminMachineConnectionRoutes
