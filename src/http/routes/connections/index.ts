import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, UserId } from '../../../schemas/common.js'
import { ProviderRef } from '../../../schemas/token.js'
import { callerErrors, callerSecurity, errorResponse, noContent, providerForbidden } from '../../schemas.js'

const connectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { revoker } = app.services

  app.delete(
    '/connections/:provider/:userId',
    {
      onRequest: app.requireCaller,
      schema: {
        tags: ['tokens'],
        summary: 'Disconnect a user: revoke the tokens at the provider (RFC 7009), then delete them',
        description:
          'When the provider has a revocation endpoint, the refresh token and then the access token are revoked there. ' +
          'If revocation fails the tokens are deleted anyway; the audit trail records the failure.',
        security: callerSecurity,
        params: Type.Object({ provider: ProviderRef(), userId: UserId }),
        response: {
          204: noContent('Revoked (where supported) and deleted'),
          ...callerErrors,
          403: providerForbidden,
          404: errorResponse('No connection for this user and provider', {
            error: 'not_found',
            message: 'connection not found',
          }),
        },
      },
    },
    async (request, reply) => {
      const { provider, userId } = request.params
      await revoker.disconnect(request.caller!, { providerId: provider, userId })
      return reply.code(204).send(null)
    },
  )
}

export default connectionRoutes
