import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ClientCreateBody, clientExample, ClientView, CreatedClient } from '../../../schemas/client.js'
import { PageOf, pageQuery, Type } from '../../../schemas/common.js'
import { adminErrors, adminSecurity, invalidRequestResponse, noContent, notFoundResponse } from '../../schemas.js'

const clientRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { clients } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.get(
    '/clients',
    {
      schema: {
        tags: ['admin'],
        summary: 'List internal callers, newest first',
        security: adminSecurity,
        querystring: Type.Object(
          {
            includeRevoked: Type.Optional(Type.Boolean({ default: false, description: 'Also list revoked callers' })),
            ...pageQuery,
          },
          { additionalProperties: false },
        ),
        response: {
          200: PageOf('A page of callers', ClientView, clientExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => clients.list(request.query),
  )

  app.post(
    '/clients',
    {
      schema: {
        tags: ['admin'],
        summary: 'Add an internal caller and issue its API key',
        security: adminSecurity,
        body: ClientCreateBody,
        response: {
          201: CreatedClient,
          400: invalidRequestResponse('allowedReturnTo entries must be absolute URLs'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { client, apiKey } = await clients.create(request.body, 'admin')
      return reply.code(201).send({ ...client, apiKey })
    },
  )

  app.delete(
    '/clients/:id',
    {
      schema: {
        tags: ['admin'],
        summary: "Revoke a caller's API key",
        description: 'The key stops working within seconds (the authentication cache). Revoking twice is harmless.',
        security: adminSecurity,
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { 204: noContent('Revoked'), 404: notFoundResponse('client'), ...adminErrors },
      },
    },
    async (request, reply) => {
      await clients.revoke(request.params.id, 'admin')
      return reply.code(204).send(null)
    },
  )
}

export default clientRoutes
