import type { FastifyPluginAsync } from 'fastify'
import { checkReadiness } from '../../../db/readiness.js'

const status = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, reason: { type: 'string' } },
} as const

const healthRoutes: FastifyPluginAsync = async (app) => {
  const { db } = app.deps
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: { ...status, example: { status: 'ok' } } },
      },
      config: { rateLimit: false },
    },
    async () => ({ status: 'ok' }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The database is reachable and every migration is applied',
        response: {
          200: { ...status, example: { status: 'ready' } },
          503: {
            type: 'object',
            required: ['error', 'message'],
            properties: { error: { type: 'string' }, message: { type: 'string' } },
            example: { error: 'service_unavailable', message: 'database unreachable or not migrated' },
          },
        },
      },
      config: { rateLimit: false },
    },
    async (_request, reply) => {
      const { ready, reason } = await checkReadiness(db)
      if (ready) return { status: 'ready' }
      return reply.code(503).send({ error: 'service_unavailable', message: reason ?? 'not ready' })
    },
  )
}

export default healthRoutes
