import type { FastifyPluginAsync } from 'fastify'
import { adminErrors, adminSecurity, errorResponse } from '../../schemas.js'

const counts = {
  type: 'object',
  required: ['scanned', 'reencrypted'],
  properties: {
    scanned: { type: 'integer', description: 'Stored values read' },
    reencrypted: { type: 'integer', description: 'Values that were under another key and now are under the primary' },
  },
} as const

const reportExample = {
  primaryKeyId: 'k2',
  scanned: 1312,
  reencrypted: 1290,
  columns: {
    'providers.client_secret': { scanned: 3, reencrypted: 3 },
    'connections.access_token': { scanned: 640, reencrypted: 629 },
    'connections.refresh_token': { scanned: 637, reencrypted: 626 },
    'authorization_requests.code_verifier': { scanned: 12, reencrypted: 12 },
    'authorization_requests.pending_grant': { scanned: 1, reencrypted: 1 },
    'webhook_endpoints.secret': { scanned: 20, reencrypted: 20 },
  },
}

const keyRoutes: FastifyPluginAsync = async (app) => {
  const { keys } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.post(
    '/keys/reencrypt',
    {
      schema: {
        tags: ['admin'],
        summary: 'Re-encrypt every stored secret under the primary key of ENCRYPTION_KEYS',
        description:
          'Run after putting a new key first in `ENCRYPTION_KEYS` (keeping the old ones) and restarting every ' +
          'instance; once it reports, the old keys can be removed. Safe while the service runs, and safe to repeat.',
        security: adminSecurity,
        response: {
          200: {
            description: 'What was read and moved, in total and per encrypted column',
            type: 'object',
            required: ['primaryKeyId', 'scanned', 'reencrypted', 'columns'],
            properties: {
              primaryKeyId: { type: 'string' },
              ...counts.properties,
              columns: { type: 'object', additionalProperties: counts },
            },
            example: reportExample,
          },
          409: errorResponse('A stored value is under a key no longer in ENCRYPTION_KEYS', {
            error: 'conflict',
            message: 'cannot re-encrypt connections.refresh_token of row 0b6f3c52-…: unknown key id "k0"',
          }),
          ...adminErrors,
        },
      },
    },
    async () => keys.reencrypt('admin'),
  )
}

export default keyRoutes
