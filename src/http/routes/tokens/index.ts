import type { FastifyPluginAsync } from 'fastify'
import { isDatabaseUnavailable } from '../../../db/errors.js'
import { BrokerError } from '../../../errors.js'
import { displayTokenType } from '../../../services/refresh.js'
import { ProviderUnavailableError } from '../../../services/serve-token.js'
import { errorResponse } from '../../schemas.js'
import { callerErrors, callerSecurity, providerId, userId } from '../caller-schemas.js'

const query = {
  type: 'object',
  properties: {
    provider: { ...providerId, description: 'Provider id; optional when exactly one provider is configured' },
    minTtl: {
      type: 'integer',
      minimum: 0,
      maximum: 86400,
      default: 60,
      description:
        'Seconds the token must stay valid; capped at half the lifetime the provider last granted (and at its refresh margin)',
    },
  },
} as const

const tokenExample = {
  accessToken: 'ya29.a0AfB_byC...',
  tokenType: 'Bearer',
  expiresAt: '2026-01-01T11:00:00.000Z',
  scope: 'openid email offline_access',
  provider: 'google',
  userId: 'user-42',
}

const tokenSchema = {
  description: 'A token valid for at least minTtl seconds',
  type: 'object',
  required: ['accessToken', 'tokenType', 'expiresAt', 'scope', 'provider', 'userId'],
  properties: {
    accessToken: { type: 'string' },
    tokenType: { type: 'string', description: 'Usually `Bearer`' },
    expiresAt: { type: 'string', format: 'date-time' },
    scope: { type: 'string', nullable: true, description: 'Scopes the provider granted, space separated' },
    provider: { type: 'string' },
    userId: { type: 'string' },
  },
  example: tokenExample,
} as const

const tokenRoutes: FastifyPluginAsync = async (app) => {
  const { metrics } = app.deps
  const { tokens } = app.tokenServices

  app.get<{ Params: { userId: string }; Querystring: { provider?: string; minTtl: number } }>(
    '/tokens/:userId',
    {
      onRequest: app.requireCaller,
      schema: {
        tags: ['tokens'],
        summary: "A fresh access token for the user's connection, refreshed first when needed",
        security: callerSecurity,
        params: { type: 'object', required: ['userId'], properties: { userId } },
        querystring: query,
        response: {
          200: tokenSchema,
          400: errorResponse('Invalid parameters, or provider left out while several are configured', {
            error: 'invalid_request',
            message: 'querystring/minTtl must be integer',
          }),
          ...callerErrors,
          404: errorResponse('No connection for this user and provider', {
            error: 'not_found',
            message: 'connection not found',
          }),
          409: errorResponse('The grant is gone: send the user through POST /authorizations again', {
            error: 'reauthorization_required',
            message: 'the user must authorize this provider again',
          }),
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
          minTtl: request.query.minTtl,
        })
        metrics.tokenRequests.inc({ outcome: token.refreshed ? 'refreshed' : 'served' })
        return {
          accessToken: token.accessToken.reveal(),
          tokenType: displayTokenType(token.tokenType),
          expiresAt: token.expiresAt.toISOString(),
          scope: token.scope,
          provider: token.provider,
          userId: token.userId,
        }
      } catch (err) {
        const outcome =
          err instanceof BrokerError ? err.code : isDatabaseUnavailable(err) ? 'service_unavailable' : 'internal_error'
        metrics.tokenRequests.inc({ outcome })
        if (err instanceof ProviderUnavailableError && err.retryAfterSeconds !== undefined) {
          reply.header('retry-after', String(Math.max(1, err.retryAfterSeconds)))
        }
        throw err
      }
    },
  )
}

export default tokenRoutes
