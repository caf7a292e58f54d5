import type { FastifyPluginAsync } from 'fastify'
import { BrokerError, conflict, notFound } from '../../../errors.js'
import { getConnectionView } from '../../../services/connection-views.js'
import { adminErrors, adminSecurity, errorResponse, notFoundResponse } from '../../schemas.js'
import { connectionSchema } from './connections.js'

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Connection id' } },
} as const

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** What operators do to a connection: refresh it now, or revoke and delete it. */
const adminConnectionActions: FastifyPluginAsync = async (app) => {
  const { prisma } = app.deps
  const { refresher, revoker, waitMs } = app.tokenServices
  app.addHook('onRequest', app.requireAdmin)

  app.post<{ Params: { id: string } }>(
    '/connections/:id/refresh',
    {
      schema: {
        tags: ['admin'],
        summary: 'Refresh a connection now, whatever its schedule or backoff; answers the connection, never a token',
        security: adminSecurity,
        params: idParams,
        response: {
          200: { ...connectionSchema, description: 'Refreshed' },
          404: notFoundResponse('connection'),
          409: errorResponse('The grant is gone, or there is no refresh token', {
            error: 'reauthorization_required',
            message: 'the user must authorize this provider again',
          }),
          503: errorResponse('The provider failed; the connection keeps its tokens and retries with backoff', {
            error: 'provider_unavailable',
            message: 'refresh failed: provider answered server_error (HTTP 500)',
          }),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const { id } = request.params
      if (!UUID.test(id)) throw notFound('connection')
      const result = await refresher.refresh(id, {
        need: { kind: 'force', since: app.deps.now() },
        trigger: 'admin',
        actor: 'admin',
        waitMs,
      })
      switch (result.kind) {
        case 'refreshed':
        case 'fresh':
          return getConnectionView(prisma, id)
        case 'not_found':
          throw notFound('connection')
        case 'reauthorization_required':
          throw new BrokerError('reauthorization_required', 'the user must authorize this provider again')
        case 'no_refresh_token':
          throw conflict('the connection has no refresh token')
        case 'failed':
          throw new BrokerError('provider_unavailable', `refresh failed: ${result.message}`)
        case 'busy':
        case 'lease_lost':
          throw new BrokerError('provider_unavailable', 'another instance is refreshing this connection; try again')
      }
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/connections/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke the tokens at the provider (RFC 7009) where supported, then delete the connection',
        security: adminSecurity,
        params: idParams,
        response: {
          204: { description: 'Revoked (where supported) and deleted', type: 'null' },
          404: notFoundResponse('connection'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      await revoker.revoke({ id: request.params.id }, 'admin')
      return reply.code(204).send()
    },
  )
}

export default adminConnectionActions
