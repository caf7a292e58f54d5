import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  AuthorizationBody,
  ConfirmBody,
  ConfirmedConnection,
  CreatedAuthorization,
} from '../../../schemas/authorization.js'
import { noStore } from '../../plugins/security-headers.js'
import { callerErrors, callerSecurity, errorResponse, providerForbidden } from '../../schemas.js'

const authorizationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { authorizations, confirmations } = app.services

  app.post(
    '/authorizations',
    {
      onRequest: [app.requireCaller, noStore],
      schema: {
        tags: ['tokens'],
        summary: "Start connecting a user's account at a provider",
        description:
          "Returns a link to send the user's browser to. The user consents at the provider; the broker then stores the " +
          'tokens and sends the browser to `returnTo`.',
        security: callerSecurity,
        body: AuthorizationBody,
        response: {
          201: CreatedAuthorization,
          400: errorResponse(
            'Invalid body, returnTo not allowed (invalid_return_to), or a scope not allowed (invalid_scope)',
            {
              error: 'invalid_return_to',
              message: "returnTo does not match any of the caller's allowedReturnTo",
            },
          ),
          ...callerErrors,
          403: providerForbidden,
          404: errorResponse('No such provider', { error: 'not_found', message: 'provider not found' }),
          429: errorResponse(
            'Too many requests (rate_limited), or MAX_OPEN_FLOWS_PER_CALLER start links neither used nor expired ' +
              '(too_many_open_flows)',
            {
              error: 'too_many_open_flows',
              message: 'this caller has 1000 start links neither used nor expired; they expire 10 minutes after issue',
            },
          ),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await authorizations.create(request.caller!, request.body)),
  )

  app.post(
    '/authorizations/confirm',
    {
      onRequest: app.requireCaller,
      schema: {
        tags: ['tokens'],
        summary: 'Confirm the user of a flow started with `confirm: true`: only then is the connection stored',
        description:
          'Call it from your backend with the `result` your returnTo received and the user your own session belongs ' +
          'to. Another userId revokes the grant at the provider and drops it (409 user_mismatch). A result is single ' +
          'use and valid 10 minutes; an unconfirmed grant is then revoked.',
        security: callerSecurity,
        body: ConfirmBody,
        response: {
          200: ConfirmedConnection,
          ...callerErrors,
          403: providerForbidden,
          404: errorResponse('Unknown, used or expired result, or one of another namespace', {
            error: 'not_found',
            message: 'authorization result not found',
          }),
          409: errorResponse(
            'user_mismatch: the flow was for another user (its grant is revoked); account_mismatch: the connection ' +
              'belongs to another account at the provider',
            { error: 'user_mismatch', message: 'the flow was started for another user; its grant is revoked' },
          ),
        },
      },
    },
    async (request) => confirmations.confirm(request.caller!, request.body),
  )
}

export default authorizationRoutes
