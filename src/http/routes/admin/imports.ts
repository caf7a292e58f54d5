import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ConnectionView } from '../../../schemas/connection.js'
import { ImportBody } from '../../../schemas/import.js'
import { adminErrors, adminSecurity, errorResponse, invalidRequestResponse, notFoundResponse } from '../../schemas.js'

/** Tokens issued before the broker, stored as connections: one by one, or in bulk. */
const adminImportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { imports, connections } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.post(
    '/connections/import',
    {
      schema: {
        tags: ['admin'],
        summary: 'Import a connection: tokens issued before the broker, stored encrypted',
        description:
          'Without an access token valid for at least 60 seconds (`accessToken` and `expiresAt`), the broker refreshes ' +
          'at once and stores the connection only when the provider accepted the refresh token. The same refresh ' +
          'token imported again leaves the connection as it is (200).',
        security: adminSecurity,
        body: ImportBody,
        response: {
          200: { ...ConnectionView, description: 'The connection existed: replaced, or left as it was' },
          201: { ...ConnectionView, description: 'Imported' },
          400: invalidRequestResponse("body must have required property 'refreshToken'"),
          404: notFoundResponse('provider'),
          409: errorResponse('The provider refused the refresh token: nothing stored', {
            error: 'reauthorization_required',
            message: 'the provider refused the grant: provider answered invalid_grant (HTTP 400)',
          }),
          502: errorResponse('The provider refused our client: nothing stored', {
            error: 'provider_refused',
            message: 'provider refused our client credentials (HTTP 401)',
          }),
          503: errorResponse('The refresh failed: nothing stored', {
            error: 'provider_unavailable',
            message: 'provider answered HTTP 503',
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const outcome = await imports.import(request.body)
      return reply.code(outcome.kind === 'imported' ? 201 : 200).send(await connections.get(outcome.connectionId))
    },
  )
}

export default adminImportRoutes
