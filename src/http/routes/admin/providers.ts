import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { PageOf, pageQuery, Type } from '../../../schemas/common.js'
import {
  ProviderCheckResult,
  ProviderCreateBody,
  ProviderCreateQuery,
  providerExample,
  ProviderReplaceBody,
  ProviderView,
} from '../../../schemas/provider.js'
import { parseProviderInput } from '../../../services/provider-input.js'
import {
  adminErrors,
  adminSecurity,
  errorResponse,
  invalidRequestResponse,
  noContent,
  notFoundResponse,
} from '../../schemas.js'

const idParams = Type.Object({ id: Type.String({ maxLength: 64, description: 'Provider id' }) })
const provider = (description: string) => ({ ...ProviderView, description })

const providerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { providers } = app.services
  app.addHook('onRequest', app.requireAdmin)

  app.get(
    '/providers',
    {
      schema: {
        tags: ['admin'],
        summary: 'List providers by id',
        security: adminSecurity,
        querystring: Type.Object(pageQuery, { additionalProperties: false }),
        response: {
          200: PageOf('A page of providers', ProviderView, providerExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => providers.list(request.query),
  )

  app.post(
    '/providers',
    {
      schema: {
        tags: ['admin'],
        summary: 'Add a provider',
        description:
          'Either `issuer` (OpenID Connect discovery) or both endpoint URLs, or a `template` (GET /admin/templates) ' +
          'with its `connectionConfig`. Answers the provider with the `redirectUri` to register at it. With ' +
          '`?check=true` a provider that fails its check (POST /admin/providers/:id/check) is refused.',
        security: adminSecurity,
        querystring: ProviderCreateQuery,
        body: ProviderCreateBody,
        response: {
          201: provider('The provider'),
          400: errorResponse('Invalid settings, or (with check=true) a failed check', {
            error: 'provider_check_failed',
            message:
              'token_endpoint_reachable: https://auth.example.com/oauth/token answered HTTP 404: is the URL right?',
          }),
          409: errorResponse('A provider with this id exists', {
            error: 'conflict',
            message: 'provider glimesh already exists',
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const input = parseProviderInput(request.body, { requireSecret: true, templates: app.deps.templates })
      return reply.code(201).send(await providers.create(input, 'admin', { check: request.query.check === true }))
    },
  )

  app.post(
    '/providers/:id/check',
    {
      schema: {
        tags: ['admin'],
        summary: "Check a provider's settings against the provider itself",
        description:
          'Fetches the discovery document (or calls the endpoints without credentials) and reports each check with ' +
          'what to change when it fails: an issuer with or without its trailing slash, a redirect, http endpoints.',
        security: adminSecurity,
        params: idParams,
        response: { 200: ProviderCheckResult, 404: notFoundResponse('provider'), ...adminErrors },
      },
    },
    async (request) => providers.check(request.params.id),
  )

  app.get(
    '/providers/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'One provider',
        security: adminSecurity,
        params: idParams,
        response: { 200: provider('The provider'), 404: notFoundResponse('provider'), ...adminErrors },
      },
    },
    async (request) => providers.get(request.params.id),
  )

  app.put(
    '/providers/:id',
    {
      schema: {
        tags: ['admin'],
        summary: "Replace a provider's settings",
        description: 'Fields left out return to their defaults; the client secret is kept unless given.',
        security: adminSecurity,
        params: idParams,
        body: ProviderReplaceBody,
        response: {
          200: provider('The provider'),
          400: invalidRequestResponse('tokenEndpoint must be https (http only on 127.0.0.1, localhost or [::1])'),
          404: notFoundResponse('provider'),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const input = parseProviderInput(request.body, {
        id: request.params.id,
        requireSecret: false,
        templates: app.deps.templates,
      })
      return providers.update(input, 'admin')
    },
  )

  app.delete(
    '/providers/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete a provider that has no connections',
        security: adminSecurity,
        params: idParams,
        response: {
          204: noContent('Deleted'),
          404: notFoundResponse('provider'),
          409: errorResponse('Connections still use the provider', {
            error: 'conflict',
            message: 'provider glimesh has 3 connection(s): delete them first (DELETE /admin/connections/:id)',
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      await providers.remove(request.params.id, 'admin')
      return reply.code(204).send(null)
    },
  )
}

export default providerRoutes
