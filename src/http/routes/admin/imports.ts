import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ConnectionView } from '../../../schemas/connection.js'
import { Type } from '../../../schemas/common.js'
import { ImportBody, ImportSummary } from '../../../schemas/import.js'
import { BULK_BODY_LIMIT_BYTES, MAX_BULK_LINES } from '../../../services/bulk-import.js'
import { adminErrors, adminSecurity, errorResponse, invalidRequestResponse, notFoundResponse } from '../../schemas.js'

/** Tokens issued before the broker, stored as connections: one by one, or in bulk. */
const adminImportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { imports, bulkImport, connections } = app.services
  app.addHook('onRequest', app.requireAdmin)
  // NDJSON is read here only (this plugin's routes), as text, within the bulk route's own body limit
  app.addContentTypeParser(
    'application/x-ndjson',
    { parseAs: 'string', bodyLimit: BULK_BODY_LIMIT_BYTES },
    (_request, body, done) => done(null, body),
  )

  app.post(
    '/connections/import',
    {
      schema: {
        tags: ['admin'],
        summary: 'Import a connection: tokens issued before the broker, stored encrypted',
        description:
          'Without an access token valid for at least 60 seconds (`accessToken` and `expiresAt`), the broker refreshes ' +
          'at once and stores the connection only when the provider accepted the refresh token. The same refresh ' +
          'token imported again leaves the connection as it is (200), also when sent twice at once, to one ' +
          'instance or two: the second waits for the first, so the provider sees the token once.',
        security: adminSecurity,
        body: ImportBody,
        response: {
          200: { ...ConnectionView, description: 'The connection existed: replaced, or left as it was' },
          201: { ...ConnectionView, description: 'Imported' },
          400: invalidRequestResponse("body must have required property 'refreshToken'"),
          404: notFoundResponse('provider'),
          409: errorResponse(
            'The provider refused the refresh token: nothing stored (or `conflict`: another import of this ' +
              'connection ran longer than the wait; try again)',
            {
              error: 'reauthorization_required',
              message: 'the provider refused the grant: provider answered invalid_grant (HTTP 400)',
            },
          ),
          502: errorResponse('The provider refused our client: nothing stored', {
            error: 'provider_refused',
            message: 'provider refused our client credentials (HTTP 401)',
          }),
          503: errorResponse('The refresh failed: nothing stored', {
            error: 'provider_unavailable',
            message: 'provider answered HTTP 503',
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const outcome = await imports.import(request.body)
      return reply.code(outcome.kind === 'imported' ? 201 : 200).send(await connections.get(outcome.connectionId))
    },
  )

  app.post(
    '/connections/import/bulk',
    {
      bodyLimit: BULK_BODY_LIMIT_BYTES,
      schema: {
        tags: ['admin'],
        summary: 'Import connections in bulk: an NDJSON body, one import object per line',
        description:
          'Each line is imported as by `POST /admin/connections/import`, independently: a refused line refuses only ' +
          'itself and is reported by its line number. Idempotent on (namespace, provider, userId): a connection ' +
          'that exists is replaced, and a line already imported (the same refresh token) leaves it as it is. ' +
          `At most ${MAX_BULK_LINES} lines and ${BULK_BODY_LIMIT_BYTES / 1024 / 1024} MiB per request. ` +
          '`npm run import -- --file connections.ndjson` posts a file.',
        security: adminSecurity,
        consumes: ['application/x-ndjson'],
        body: Type.String({
          description: 'NDJSON (`content-type: application/x-ndjson`): one import object per line',
          example:
            '{"provider":"google","userId":"user-42","refreshToken":"<refresh token>"}\n' +
            '{"provider":"google","userId":"user-43","refreshToken":"<refresh token>","accessToken":"<access token>","expiresAt":"2026-01-01T11:00:00.000Z"}\n',
        }),
        response: {
          200: ImportSummary,
          400: invalidRequestResponse(`at most ${MAX_BULK_LINES} lines per request; split the file`),
          413: errorResponse('The body is larger than the limit', {
            error: 'payload_too_large',
            message: 'request body is too large',
          }),
          415: errorResponse('Not NDJSON', {
            error: 'unsupported_media_type',
            message: 'unsupported content type',
          }),
          ...adminErrors,
        },
      },
    },
    async (request) => bulkImport.importNdjson(request.body),
  )
}

export default adminImportRoutes
