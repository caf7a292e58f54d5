import type { FastifyPluginAsync } from 'fastify'
import { getConnectionView, listConnections, type ConnectionFilter } from '../../../services/connection-views.js'
import {
  adminErrors,
  adminSecurity,
  invalidRequestResponse,
  notFoundResponse,
  pageOf,
  pageQueryProperties,
} from '../../schemas.js'

const at = { type: 'string', format: 'date-time' } as const
const nullableAt = { ...at, nullable: true } as const
const nullableString = { type: 'string', nullable: true } as const

export const connectionExample = {
  id: '0b6f3c52-5b1e-4d47-9a55-2f4c8d1f7e21',
  provider: 'google',
  userId: 'user-42',
  status: 'active',
  subject: '10769150350006150715113082367',
  scope: 'openid email offline_access',
  tokenType: 'Bearer',
  hasRefreshToken: true,
  expiresAt: '2026-01-01T11:00:00.000Z',
  nextRefreshAt: '2026-01-01T10:55:00.000Z',
  lastRefreshedAt: '2026-01-01T10:00:00.000Z',
  failureCount: 0,
  lastError: null,
  lastErrorAt: null,
  lease: null,
  createdByClientId: '5a1d2c3b-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T10:00:00.000Z',
}

/** A connection as the admin API shows it: never a token. */
export const connectionSchema = {
  type: 'object',
  required: ['id', 'provider', 'userId', 'status', 'hasRefreshToken', 'failureCount', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    provider: { type: 'string', description: 'Provider id' },
    userId: { type: 'string' },
    status: { type: 'string', description: '`active` or `reauthorization_required`' },
    subject: { ...nullableString, description: 'The `sub` of the ID token, for OpenID Connect providers' },
    scope: { ...nullableString, description: 'Scopes the provider granted' },
    tokenType: { type: 'string' },
    hasRefreshToken: { type: 'boolean' },
    expiresAt: {
      ...nullableAt,
      description: 'When the stored access token expires; null when the provider did not say',
    },
    nextRefreshAt: { ...nullableAt, description: 'When the scheduler refreshes next' },
    lastRefreshedAt: nullableAt,
    failureCount: { type: 'integer', description: 'Refresh failures since the last success' },
    lastError: { ...nullableString, description: 'The error code of the last failed refresh' },
    lastErrorAt: nullableAt,
    lease: {
      type: 'object',
      nullable: true,
      description: 'The instance refreshing the connection right now, if any',
      required: ['owner'],
      properties: { owner: { type: 'string' }, expiresAt: nullableAt },
    },
    createdByClientId: { ...nullableString, description: 'The internal caller whose flow created it' },
    createdAt: at,
    updatedAt: at,
  },
  example: connectionExample,
} as const

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', description: 'Connection id' } },
} as const

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    provider: { type: 'string', description: 'Only connections to this provider' },
    status: { type: 'string', enum: ['active', 'reauthorization_required'] },
    userId: { type: 'string', description: 'Only connections of this user' },
    ...pageQueryProperties,
  },
} as const

/** Admin views of stored connections; the refresh and delete actions live here too. */
const adminConnectionRoutes: FastifyPluginAsync = async (app) => {
  const { prisma } = app.deps
  app.addHook('onRequest', app.requireAdmin)

  app.get<{ Querystring: ConnectionFilter & { limit: number; cursor?: string } }>(
    '/connections',
    {
      schema: {
        tags: ['admin'],
        summary: 'List connections, newest first',
        security: adminSecurity,
        querystring: listQuery,
        response: {
          200: pageOf('A page of connections', connectionSchema, connectionExample),
          400: invalidRequestResponse('querystring/limit must be <= 500'),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query
      return listConnections(prisma, filter, { limit, cursor })
    },
  )

  app.get<{ Params: { id: string } }>(
    '/connections/:id',
    {
      schema: {
        tags: ['admin'],
        summary: 'One connection: status, timing, last error and lease; never a token',
        security: adminSecurity,
        params: idParams,
        response: {
          200: { description: 'The connection', ...connectionSchema },
          404: notFoundResponse('connection'),
          ...adminErrors,
        },
      },
    },
    async (request) => getConnectionView(prisma, request.params.id),
  )
}

export default adminConnectionRoutes
