import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { auditEventExample, AuditEventView } from '../../../schemas/audit.js'
import { PageOf, pageQuery, Type } from '../../../schemas/common.js'
import { adminErrors, adminSecurity, invalidRequestResponse } from '../../schemas.js'

const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { audit } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.get(
    '/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'The audit trail, newest first: connections created, refreshed, failed, revoked; admin changes',
        security: adminSecurity,
        querystring: Type.Object(pageQuery, { additionalProperties: false }),
        response: {
          200: PageOf('A page of audit events', AuditEventView, auditEventExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => audit.list(request.query),
  )
}

export default auditRoutes
