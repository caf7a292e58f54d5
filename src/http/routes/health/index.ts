import type { FastifyPluginAsync } from 'fastify'
import { checkReadiness } from '../../../db/readiness.js'
import { sharedFor } from '../../shared-result.js'

const status = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string' }, reason: { type: 'string' } },
} as const

// The probes' answers are a fixed shape the handlers build themselves: JSON.stringify writes them, so that the first
// probe of a new process (the one an orchestrator waits on) does not load and run the schema serializer's compiler.
// Their schemas stay, for the API's documentation.
const plainJson = () => (data: unknown) => JSON.stringify(data)

const healthRoutes: FastifyPluginAsync = async (app) => {
  const { db, timing, now } = app.deps
  // probes come from anywhere without credentials: one query per period at most, whatever their number
  const readiness = sharedFor(
    timing.readinessMaxAgeMs,
    () => checkReadiness(db),
    () => now().getTime(),
  )
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'The process is up',
        response: { 200: { ...status, example: { status: 'ok' } } },
      },
      config: { rateLimit: false },
      serializerCompiler: plainJson,
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
      serializerCompiler: plainJson,
    },
    async (_request, reply) => {
      const { ready, reason } = await readiness()
      if (ready) return { status: 'ready' }
      return reply.code(503).send({ error: 'service_unavailable', message: reason ?? 'not ready' })
    },
  )
}

export default healthRoutes
