import type { FastifyPluginAsync } from 'fastify'
import { parseProviderInput } from '../../../services/provider-input.js'
import {
  createProvider,
  deleteProvider,
  getProvider,
  listProviders,
  updateProvider,
} from '../../../services/providers.js'
import {
  adminErrors,
  adminSecurity,
  errorResponse,
  invalidRequestResponse,
  notFoundResponse,
  pageOf,
  pageQueryProperties,
} from '../../schemas.js'

const nullableString = { type: 'string', nullable: true } as const
const url = { type: 'string', maxLength: 2048, format: 'uri' } as const

export const providerExample = {
  id: 'glimesh',
  preset: 'glimesh',
  displayName: 'Glimesh',
  issuer: null,
  authorizationEndpoint: 'https://glimesh.tv/oauth/authorize',
  tokenEndpoint: 'https://glimesh.tv/api/oauth/token',
  revocationEndpoint: null,
  clientId: '3b1f0c2a-8d4e-4f6a-9b7c-1d2e3f4a5b6c',
  hasClientSecret: true,
  tokenEndpointAuthMethod: 'client_secret_post',
  scopes: ['public', 'email', 'chat', 'streamkey', 'follow', 'stream_info'],
  authorizationParams: {},
  pkce: true,
  defaultTokenLifetimeSeconds: 21600,
  refreshMarginSeconds: null,
  credentialsStatus: 'ok',
  credentialsError: null,
  credentialsCheckedAt: null,
  redirectUri: 'https://broker.example.com/oauth/glimesh/callback',
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}

/** A provider as the admin API answers it: the client secret is write-only. */
export const providerSchema = {
  type: 'object',
  required: ['id', 'clientId', 'hasClientSecret', 'tokenEndpointAuthMethod', 'scopes', 'pkce', 'redirectUri'],
  properties: {
    id: { type: 'string' },
    preset: { ...nullableString, description: 'The preset its defaults came from' },
    displayName: nullableString,
    issuer: { ...nullableString, description: 'OpenID Connect issuer (endpoints found by discovery)' },
    authorizationEndpoint: nullableString,
    tokenEndpoint: nullableString,
    revocationEndpoint: nullableString,
    clientId: { type: 'string' },
    hasClientSecret: { type: 'boolean', description: 'The client secret itself is never returned' },
    tokenEndpointAuthMethod: { type: 'string', enum: ['client_secret_basic', 'client_secret_post'] },
    scopes: { type: 'array', items: { type: 'string' } },
    authorizationParams: { type: 'object', additionalProperties: { type: 'string' } },
    pkce: { type: 'boolean' },
    defaultTokenLifetimeSeconds: {
      type: 'integer',
      description: 'Lifetime assumed for access tokens granted without expires_in',
    },
    refreshMarginSeconds: {
      type: 'integer',
      nullable: true,
      description: 'Refresh this long before expiry instead of REFRESH_WINDOW_SECONDS',
    },
    credentialsStatus: {
      type: 'string',
      description: 'Read-only: `ok`, or what the provider last said about our client credentials',
    },
    credentialsError: nullableString,
    credentialsCheckedAt: { type: 'string', format: 'date-time', nullable: true },
    redirectUri: { type: 'string', description: 'Register this at the provider' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  example: providerExample,
} as const

const writableProperties = {
  preset: {
    type: 'string',
    enum: ['glimesh', 'goto', 'auth0', 'oidc'],
    description: 'Fills in endpoints, scopes and the client authentication method; explicit fields win',
  },
  domain: { type: 'string', maxLength: 253, description: 'auth0 preset: the tenant domain, e.g. example.us.auth0.com' },
  audience: { type: 'string', maxLength: 500, description: 'auth0 preset: the API identifier tokens are for' },
  displayName: { type: 'string', maxLength: 200 },
  issuer: { ...url, description: 'For OpenID Connect discovery; https except on loopback hosts' },
  authorizationEndpoint: url,
  tokenEndpoint: url,
  revocationEndpoint: url,
  clientId: { type: 'string', minLength: 1, maxLength: 500 },
  clientSecret: { type: 'string', minLength: 1, maxLength: 2000, description: 'Write-only; stored encrypted' },
  tokenEndpointAuthMethod: { type: 'string', enum: ['client_secret_basic', 'client_secret_post'] },
  scopes: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 200 } },
  authorizationParams: {
    type: 'object',
    maxProperties: 20,
    additionalProperties: { type: 'string', maxLength: 500 },
    description: 'Extra authorization request parameters (not those the broker sets itself)',
  },
  pkce: { type: 'boolean', default: true },
  defaultTokenLifetimeSeconds: { type: 'integer', minimum: 30, maximum: 31536000 },
  refreshMarginSeconds: { type: 'integer', minimum: 0, maximum: 86400, nullable: true },
} as const

const createBody = {
  type: 'object',
  required: ['id', 'clientId', 'clientSecret'],
  additionalProperties: false,
  properties: {
    id: {
      type: 'string',
      pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$',
      description: 'A slug; part of the redirect URI',
    },
    ...writableProperties,
  },
  example: { id: 'glimesh', preset: 'glimesh', clientId: '3b1f0c2a-8d4e-4f6a', clientSecret: '<client secret>' },
} as const

const replaceBody = {
  type: 'object',
  required: ['clientId'],
  additionalProperties: false,
  properties: { id: { type: 'string' }, ...writableProperties },
  description: 'Replaces every setting; the client secret only when given',
  example: { preset: 'auth0', domain: 'example.us.auth0.com', audience: 'https://api.example.com', clientId: 'abc' },
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', maxLength: 64, description: 'Provider id' } },
} as const

type Body = Record<string, unknown>

const providerRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', app.requireAdmin)

  app.get<{ Querystring: { limit: number; cursor?: string } }>(
    '/providers',
    {
      schema: {
        tags: ['admin'],
        summary: 'List providers by id',
        security: adminSecurity,
        querystring: { type: 'object', additionalProperties: false, properties: { ...pageQueryProperties } },
        response: {
          200: pageOf('A page of providers', providerSchema, providerExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => listProviders(app.deps, request.query),
  )

  app.post<{ Body: Body }>(
    '/providers',
    {
      schema: {
        tags: ['admin'],
        summary: 'Add a provider',
        description:
          'Either `issuer` (OpenID Connect discovery) or both endpoint URLs, or a `preset`. Answers the provider ' +
          'with the `redirectUri` to register at it.',
        security: adminSecurity,
        body: createBody,
        response: {
          201: { description: 'The provider', ...providerSchema },
          400: invalidRequestResponse('give either issuer, or both authorizationEndpoint and tokenEndpoint'),
          409: errorResponse('A provider with this id exists', {
            error: 'conflict',
            message: 'provider glimesh already exists',
          }),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const input = parseProviderInput(request.body, { requireSecret: true })
      return reply.code(201).send(await createProvider(app.deps, input, 'admin'))
    },
  )

  app.get<{ Params: { id: string } }>(
    '/providers/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'One provider',
        security: adminSecurity,
        params: idParams,
        response: {
          200: { description: 'The provider', ...providerSchema },
          404: notFoundResponse('provider'),
          ...adminErrors,
        },
      },
    },
    async (request) => getProvider(app.deps, request.params.id),
  )

  app.put<{ Params: { id: string }; Body: Body }>(
    '/providers/:id',
    {
      schema: {
        tags: ['admin'],
        summary: "Replace a provider's settings",
        description: 'Fields left out return to their defaults; the client secret is kept unless given.',
        security: adminSecurity,
        params: idParams,
        body: replaceBody,
        response: {
          200: { description: 'The provider', ...providerSchema },
          400: invalidRequestResponse('tokenEndpoint must be https (http only on 127.0.0.1, localhost or [::1])'),
          404: notFoundResponse('provider'),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const input = parseProviderInput(request.body, { id: request.params.id, requireSecret: false })
      return updateProvider(app.deps, input, 'admin')
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/providers/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'Delete a provider that has no connections',
        security: adminSecurity,
        params: idParams,
        response: {
          204: { description: 'Deleted', type: 'null' },
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
      await deleteProvider(app.deps, request.params.id, 'admin')
      return reply.code(204).send()
    },
  )
}

export default providerRoutes
