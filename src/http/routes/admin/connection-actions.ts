import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ConnectionIdParams, ConnectionView } from '../../../schemas/connection.js'
import { isUuid } from '../../../schemas/ids.js'
import { notFound } from '../../../errors.js'
import { refreshError } from '../../../services/refresh.js'
import { adminErrors, adminSecurity, errorResponse, noContent, notFoundResponse } from '../../schemas.js'

/** What operators do to a connection: refresh it now, or revoke and delete it. */
const adminConnectionActions: FastifyPluginAsyncTypebox = async (app) => {
  const { refresher, revoker, connections } = app.services
  const { now, timing } = app.deps
  app.addHook('onRequest', app.requireAdmin)

  app.post(
    '/connections/:id/refresh',
    {
      schema: {
        tags: ['admin'],
        summary: 'Refresh a connection now, whatever its schedule or backoff; answers the connection, never a token',
        security: adminSecurity,
        params: ConnectionIdParams,
        response: {
          200: { ...ConnectionView, description: 'Refreshed' },
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
      if (!isUuid(id)) throw notFound('connection')
      const result = await refresher.refresh(id, {
        need: { kind: 'force', since: now() },
        trigger: 'admin',
        actor: 'admin',
        waitMs: timing.waitMs,
      })
      const failure = refreshError(result, now())
      if (failure) throw failure
      return connections.get(id)
    },
  )

  app.delete(
    '/connections/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Revoke the tokens at the provider (RFC 7009) where supported, then delete the connection',
        security: adminSecurity,
        params: ConnectionIdParams,
        response: {
          204: noContent('Revoked (where supported) and deleted'),
          404: notFoundResponse('connection'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      await revoker.revoke({ id: request.params.id }, 'admin')
      return reply.code(204).send(null)
    },
  )
}

export default adminConnectionActions
