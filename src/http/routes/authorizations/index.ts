import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { AuthorizationBody, CreatedAuthorization } from '../../../schemas/authorization.js'
import { callerErrors, callerSecurity, errorResponse, providerForbidden } from '../../schemas.js'

const authorizationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { authorizations } = app.services

  app.post(
    '/authorizations',
    {
      onRequest: app.requireCaller,
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
          400: errorResponse('Invalid body, or returnTo not allowed', {
            error: 'invalid_return_to',
            message: "returnTo does not match any of the caller's allowedReturnTo",
          }),
          ...callerErrors,
          403: providerForbidden,
          404: errorResponse('No such provider', { error: 'not_found', message: 'provider not found' }),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await authorizations.create(request.caller!, request.body)),
  )
}

export default authorizationRoutes
