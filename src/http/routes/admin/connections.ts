import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PageOf } from '../../../schemas/common.js'
import {
  connectionExample,
  ConnectionIdParams,
  ConnectionListQuery,
  ConnectionView,
} from '../../../schemas/connection.js'
import { adminErrors, adminSecurity, invalidRequestResponse, notFoundResponse } from '../../schemas.js'

/** Admin views of stored connections: state and timing, never a token. */
const adminConnectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { connections } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.get(
    '/connections',
    {
      schema: {
        tags: ['admin'],
        summary: 'List connections, newest first',
        security: adminSecurity,
        querystring: ConnectionListQuery,
        response: {
          200: PageOf('A page of connections', ConnectionView, connectionExample),
          400: invalidRequestResponse('querystring/limit must be <= 500'),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query
      return connections.list(filter, { limit, cursor })
    },
  )

  app.get(
    '/connections/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'One connection: status, timing, last error and lease; never a token',
        security: adminSecurity,
        params: ConnectionIdParams,
        response: {
          200: { ...ConnectionView, description: 'The connection' },
          404: notFoundResponse('connection'),
          ...adminErrors,
        },
      },
    },
    async (request) => connections.get(request.params.id),
  )
}

export default adminConnectionRoutes
