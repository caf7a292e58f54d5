import type { FastifyPluginAsync } from 'fastify'
import { listAuditEvents } from '../../../services/audit-events.js'
import { adminErrors, adminSecurity, invalidRequestResponse, pageOf, pageQueryProperties } from '../../schemas.js'

const nullableString = { type: 'string', nullable: true } as const

const auditEventExample = {
  id: '1042',
  at: '2026-01-01T10:00:00.000Z',
  actor: 'system',
  action: 'connection.refreshed',
  subjectType: 'connection',
  subjectId: '0b6f3c52-5b1e-4d47-9a55-2f4c8d1f7e21',
  providerId: 'google',
  userId: 'user-42',
  detail: { trigger: 'scheduler' },
}

const auditEventSchema = {
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'subjectType'],
  properties: {
    id: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string', description: '`admin`, `system`, `user` or `client:<id>`' },
    action: { type: 'string' },
    subjectType: { type: 'string', enum: ['connection', 'provider', 'client', 'webhook', 'keyring'] },
    subjectId: nullableString,
    providerId: nullableString,
    userId: nullableString,
    detail: {
      type: 'object',
      nullable: true,
      additionalProperties: true,
      description: 'Identifiers, counts and error codes; never a secret',
    },
  },
  example: auditEventExample,
} as const

const auditRoutes: FastifyPluginAsync = async (app) => {
  const { prisma } = app.deps
  app.addHook('onRequest', app.requireAdmin)

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/audit',
    {
      schema: {
        tags: ['admin'],
        summary: 'The audit trail, newest first: connections created, refreshed, failed, revoked; admin changes',
        security: adminSecurity,
        querystring: { type: 'object', additionalProperties: false, properties: pageQueryProperties },
        response: {
          200: pageOf('A page of audit events', auditEventSchema, auditEventExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => listAuditEvents(prisma, request.query),
  )
}

export default auditRoutes
