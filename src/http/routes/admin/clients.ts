import type { FastifyPluginAsync } from 'fastify'
import { createClient, listClients, parseClientInput, revokeClient } from '../../../services/clients.js'
import {
  adminErrors,
  adminSecurity,
  invalidRequestResponse,
  notFoundResponse,
  pageOf,
  pageQueryProperties,
} from '../../schemas.js'

const clientExample = {
  id: '5a1d2c3b-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  name: 'billing-service',
  keyPrefix: 'tbk_Xq3v9a',
  allowedProviders: ['glimesh'],
  allowedReturnTo: ['https://app.example.com/settings/'],
  createdAt: '2026-01-01T09:00:00.000Z',
  revokedAt: null,
}

const clientProperties = {
  id: { type: 'string', format: 'uuid' },
  name: { type: 'string' },
  keyPrefix: { type: 'string', description: 'The first characters of the API key, to recognise it' },
  allowedProviders: { type: 'array', items: { type: 'string' } },
  allowedReturnTo: { type: 'array', items: { type: 'string' } },
  createdAt: { type: 'string', format: 'date-time' },
  revokedAt: { type: 'string', format: 'date-time', nullable: true },
} as const

const required = ['id', 'name', 'keyPrefix', 'allowedProviders', 'allowedReturnTo', 'createdAt', 'revokedAt']

/** An internal caller as the admin API answers it: never its key (only at creation) nor the key's hash. */
export const clientSchema = { type: 'object', required, properties: clientProperties, example: clientExample } as const

const createdSchema = {
  description: 'The caller and its API key: shown this once, stored only as a hash',
  type: 'object',
  required: [...required, 'apiKey'],
  properties: {
    ...clientProperties,
    apiKey: { type: 'string', description: 'Send as `Authorization: Bearer <apiKey>`' },
  },
  example: { ...clientExample, apiKey: 'tbk_Xq3v9a…' },
} as const

const createBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    allowedProviders: {
      type: 'array',
      maxItems: 200,
      items: { type: 'string', maxLength: 64 },
      description: 'Provider ids this caller may start flows for and read tokens of',
    },
    allowedReturnTo: {
      type: 'array',
      maxItems: 50,
      items: { type: 'string', maxLength: 2048 },
      description:
        'URL prefixes the user may be sent back to: same origin, path under the prefix on a segment boundary. ' +
        'https, except on loopback hosts.',
    },
  },
  example: {
    name: 'billing-service',
    allowedProviders: ['glimesh'],
    allowedReturnTo: ['https://app.example.com/settings/'],
  },
} as const

const clientRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', app.requireAdmin)

  app.get<{ Querystring: { limit: number; cursor?: string; includeRevoked?: boolean } }>(
    '/clients',
    {
      schema: {
        tags: ['admin'],
        summary: 'List internal callers, newest first',
        security: adminSecurity,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            includeRevoked: { type: 'boolean', default: false, description: 'Also list revoked callers' },
            ...pageQueryProperties,
          },
        },
        response: {
          200: pageOf('A page of callers', clientSchema, clientExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => listClients(app.deps, request.query),
  )

  app.post<{ Body: { name: string; allowedProviders?: string[]; allowedReturnTo?: string[] } }>(
    '/clients',
    {
      schema: {
        tags: ['admin'],
        summary: 'Add an internal caller and issue its API key',
        security: adminSecurity,
        body: createBody,
        response: {
          201: createdSchema,
          400: invalidRequestResponse('allowedReturnTo entries must be absolute URLs'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { client, apiKey } = await createClient(app.deps, parseClientInput(request.body), 'admin')
      return reply.code(201).send({ ...client, apiKey })
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/clients/:id',
    {
      schema: {
        tags: ['admin'],
        summary: "Revoke a caller's API key",
        description: 'The key stops working within seconds (the authentication cache). Revoking twice is harmless.',
        security: adminSecurity,
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 204: { description: 'Revoked', type: 'null' }, 404: notFoundResponse('client'), ...adminErrors },
      },
    },
    async (request, reply) => {
      await revokeClient(app.deps, request.params.id, 'admin')
      return reply.code(204).send()
    },
  )
}

export default clientRoutes
