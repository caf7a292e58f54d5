import type { FastifyPluginAsync } from 'fastify'
import { createAuthorization, FLOW_TTL_SECONDS, type AuthorizationBody } from '../../../services/authorization.js'
import { errorResponse } from '../../schemas.js'

const body = {
  type: 'object',
  required: ['provider', 'userId'],
  additionalProperties: false,
  properties: {
    provider: { type: 'string', minLength: 1, maxLength: 64, description: 'Provider id; one of your allowedProviders' },
    userId: { type: 'string', minLength: 1, maxLength: 256, description: 'Your identifier for the user' },
    scopes: {
      type: 'array',
      maxItems: 100,
      items: { type: 'string', minLength: 1, maxLength: 200 },
      description: "Scopes to request instead of the provider's configured ones",
    },
    returnTo: {
      type: 'string',
      minLength: 1,
      maxLength: 2048,
      description:
        'Where the browser goes when the flow ends, with `status=connected` or `status=error&error=<code>` added; ' +
        'must lie under one of your allowedReturnTo prefixes. Without it the broker shows a small page.',
    },
  },
  example: { provider: 'glimesh', userId: 'user-42', returnTo: 'https://app.example.com/settings/connections' },
} as const

const created = {
  description: `The start link to open in the user's browser: single use, valid ${FLOW_TTL_SECONDS / 60} minutes`,
  type: 'object',
  required: ['id', 'url', 'expiresAt'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string', format: 'uri' },
    expiresAt: { type: 'string', format: 'date-time' },
  },
  example: {
    id: 'q3Jx9bV0c2lR8mTt1YwZpA',
    url: 'https://broker.example.com/oauth/start/q3Jx9bV0c2lR8mTt1YwZpA',
    expiresAt: '2026-01-01T10:10:00.000Z',
  },
} as const

const authorizationRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: AuthorizationBody }>(
    '/authorizations',
    {
      onRequest: app.requireCaller,
      schema: {
        tags: ['tokens'],
        summary: "Start connecting a user's account at a provider",
        description:
          "Returns a link to send the user's browser to. The user consents at the provider; the broker then stores the " +
          'tokens and sends the browser to `returnTo`.',
        security: [{ caller: [] }],
        body,
        response: {
          201: created,
          400: errorResponse('Invalid body, or returnTo not allowed', {
            error: 'invalid_return_to',
            message: "returnTo does not match any of the caller's allowedReturnTo",
          }),
          401: errorResponse('Missing or invalid API key', {
            error: 'unauthorized',
            message: 'a valid API key is required',
          }),
          403: errorResponse('The provider is not among the caller’s allowedProviders', {
            error: 'forbidden',
            message: 'provider not allowed for this caller',
          }),
          404: errorResponse('No such provider', { error: 'not_found', message: 'provider not found' }),
          429: errorResponse('Too many failed authentications from this address', {
            error: 'rate_limited',
            message: 'too many failed authentications, retry in 1 minute',
          }),
        },
      },
    },
    async (request, reply) => {
      const authorization = await createAuthorization(app.deps, request.caller!, request.body)
      return reply.code(201).send(authorization)
    },
  )
}

export default authorizationRoutes
