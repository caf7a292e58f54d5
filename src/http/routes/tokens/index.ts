import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { isDatabaseUnavailable } from '../../../db/errors.js'
import { BrokerError } from '../../../errors.js'
import { tokenTypeName } from '../../../providers/token-type.js'
import { ErrorBody, Type } from '../../../schemas/common.js'
import { DEFAULT_MIN_TTL_SECONDS, Token, TokenParams, TokenQuery } from '../../../schemas/token.js'
import { callerErrors, callerSecurity, errorResponse, providerForbidden } from '../../schemas.js'

const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { metrics } = app.deps
  const { tokens } = app.services

  app.get(
    '/tokens/:userId',
    {
      onRequest: app.requireCaller,
      schema: {
        tags: ['tokens'],
        summary: "A fresh access token for the user's connection, refreshed first when needed",
        security: callerSecurity,
        params: TokenParams,
        querystring: TokenQuery,
        response: {
          200: Token,
          400: errorResponse('Invalid parameters, or provider left out while several are configured', {
            error: 'invalid_request',
            message: 'querystring/minTtl must be integer',
          }),
          ...callerErrors,
          403: providerForbidden,
          404: errorResponse('No connection for this user and provider', {
            error: 'not_found',
            message: 'connection not found',
          }),
          409: Type.Object(
            {
              ...ErrorBody.properties,
              missingScopes: Type.Optional(
                Type.Array(Type.String(), { description: 'insufficient_scope: the required scopes not granted' }),
              ),
            },
            {
              description:
                'reauthorization_required: the grant is gone, send the user through POST /authorizations again; ' +
                'insufficient_scope: the granted scope lacks some of requiredScopes, start a flow asking for them',
              example: {
                error: 'insufficient_scope',
                message: 'the granted scope lacks calendar.write: start a new authorization asking for it',
                missingScopes: ['calendar.write'],
              },
            },
          ),
          503: errorResponse('A refresh was needed and the provider failed; see Retry-After', {
            error: 'provider_unavailable',
            message: 'refresh failed: provider did not answer in time',
          }),
        },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store')
      try {
        const token = await tokens.serve({
          caller: request.caller!,
          userId: request.params.userId,
          providerId: request.query.provider,
          minTtl: request.query.minTtl ?? DEFAULT_MIN_TTL_SECONDS,
          requiredScopes: request.query.requiredScopes?.split(','),
        })
        metrics.tokenRequests.inc({ outcome: token.refreshed ? 'refreshed' : 'served' })
        return {
          accessToken: token.accessToken.reveal(),
          tokenType: tokenTypeName(token.tokenType),
          expiresAt: token.expiresAt.toISOString(),
          scope: token.scope,
          metadata: token.metadata,
          provider: token.provider,
          userId: token.userId,
        }
      } catch (err) {
        const outcome =
          err instanceof BrokerError ? err.code : isDatabaseUnavailable(err) ? 'service_unavailable' : 'internal_error'
        metrics.tokenRequests.inc({ outcome })
        throw err
      }
    },
  )
}

export default tokenRoutes
