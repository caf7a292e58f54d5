import type { FastifyPluginAsync } from 'fastify'
import { forbidden } from '../../../errors.js'
import { errorResponse } from '../../schemas.js'
import { callerErrors, callerSecurity, providerId, userId } from '../caller-schemas.js'

const connectionRoutes: FastifyPluginAsync = async (app) => {
  const { revoker } = app.tokenServices

  app.delete<{ Params: { provider: string; userId: string } }>(
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
        params: { type: 'object', required: ['provider', 'userId'], properties: { provider: providerId, userId } },
        response: {
          204: { description: 'Revoked (where supported) and deleted', type: 'null' },
          ...callerErrors,
          404: errorResponse('No connection for this user and provider', {
            error: 'not_found',
            message: 'connection not found',
          }),
        },
      },
    },
    async (request, reply) => {
      const { provider, userId } = request.params
      const caller = request.caller!
      if (!caller.allowedProviders.includes(provider)) {
        throw forbidden(`provider "${provider}" is not allowed for this caller`)
      }
      await revoker.revoke({ providerId: provider, userId }, `client:${caller.id}`)
      return reply.code(204).send()
    },
  )
}

export default connectionRoutes
