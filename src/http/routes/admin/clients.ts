import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  ClientCreateBody,
  clientExample,
  ClientUpdateBody,
  ClientView,
  CreatedClient,
  DEFAULT_KEY_GRACE_SECONDS,
  RotateKeyBody,
} from '../../../schemas/client.js'
import { PageOf, pageQuery, Type } from '../../../schemas/common.js'
import { noStore } from '../../plugins/security-headers.js'
import {
  adminErrors,
  adminSecurity,
  errorResponse,
  invalidRequestResponse,
  noContent,
  notFoundResponse,
} from '../../schemas.js'

const clientId = Type.Object({ id: Type.String({ maxLength: 64 }) })
const revokedConflict = errorResponse('The client is revoked', { error: 'conflict', message: 'the client is revoked' })

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
      onRequest: noStore,
      schema: {
        tags: ['admin'],
        summary: 'Add an internal caller and issue its API key',
        security: adminSecurity,
        body: ClientCreateBody,
        response: {
          201: CreatedClient,
          400: invalidRequestResponse('allowedProviders names providers that do not exist: glimesh'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { client, apiKey } = await clients.create(request.body, 'admin')
      return reply.code(201).send({ ...client, apiKey })
    },
  )

  app.patch(
    '/clients/:id',
    {
      schema: {
        tags: ['admin'],
        summary: "Change a caller's name, allowed providers or return URLs",
        description:
          'Lists given replace the stored ones. The API key stays; the change reaches every instance within seconds ' +
          '(the authentication cache).',
        security: adminSecurity,
        params: clientId,
        body: ClientUpdateBody,
        response: {
          200: ClientView,
          400: invalidRequestResponse('allowedProviders names providers that do not exist: glimesh'),
          404: notFoundResponse('client'),
          409: revokedConflict,
          ...adminErrors,
        },
      },
    },
    async (request) => clients.update(request.params.id, request.body, 'admin'),
  )

  app.post(
    '/clients/:id/rotate-key',
    {
      onRequest: noStore,
      schema: {
        tags: ['admin'],
        summary: 'Issue a new API key for a caller; the previous one works for a grace period',
        description:
          `The new key is shown once. The previous key keeps working for \`graceSeconds\` (default ` +
          `${DEFAULT_KEY_GRACE_SECONDS}), then stops within seconds; a key replaced by an earlier rotation stops now.`,
        security: adminSecurity,
        params: clientId,
        body: RotateKeyBody,
        response: {
          200: CreatedClient,
          404: notFoundResponse('client'),
          409: revokedConflict,
          ...adminErrors,
        },
      },
      // the body is optional: none means the default grace
      preValidation: async (request) => {
        request.body ??= {}
      },
    },
    async (request) => {
      const grace = request.body.graceSeconds ?? DEFAULT_KEY_GRACE_SECONDS
      const { client, apiKey } = await clients.rotateKey(request.params.id, grace, 'admin')
      return { ...client, apiKey }
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
        params: clientId,
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
