import type { FastifyPluginAsync } from 'fastify'
import { notFound } from '../../../errors.js'
import type { DeliveryFilter } from '../../../webhooks/deliveries.js'
import { deliveryStatuses } from '../../../webhooks/deliveries.js'
import type { WebhookEndpointInput } from '../../../webhooks/endpoints.js'
import {
  adminErrors,
  adminSecurity,
  invalidRequestResponse,
  notFoundResponse,
  pageOf,
  pageQueryProperties,
} from '../../schemas.js'
import { deliveryExample, deliverySchema, endpointBody, endpointSchema, endpointWithSecretSchema } from './schemas.js'

const clientParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid', description: 'Client id' } },
} as const

const deliveryParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', format: 'uuid', description: 'Delivery id' } },
} as const

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    clientId: { type: 'string', format: 'uuid', description: 'Only deliveries to this caller' },
    status: { type: 'string', enum: deliveryStatuses },
    ...pageQueryProperties,
  },
} as const

const badClientId = invalidRequestResponse('params/id must match format "uuid"')
const noWebhook = notFoundResponse('webhook')
const tags = ['admin']

/** A caller's webhook endpoint, managed by the admin; the delivery log and redelivery. */
const adminWebhookRoutes: FastifyPluginAsync = async (app) => {
  const { endpoints, deliveries } = app.webhooks
  app.addHook('onRequest', app.requireAdmin)

  app.get<{ Params: { id: string } }>(
    '/clients/:id/webhook',
    {
      schema: {
        tags,
        summary: "A caller's webhook endpoint",
        security: adminSecurity,
        params: clientParams,
        response: { 200: endpointSchema, 400: badClientId, 404: noWebhook, ...adminErrors },
      },
    },
    async (request) => {
      const endpoint = await endpoints.get(request.params.id)
      if (!endpoint) throw notFound('webhook')
      return endpoint
    },
  )

  app.put<{ Params: { id: string }; Body: WebhookEndpointInput }>(
    '/clients/:id/webhook',
    {
      schema: {
        tags,
        summary: "Register or change a caller's webhook endpoint; the signing secret is returned once, on creation",
        security: adminSecurity,
        params: clientParams,
        body: endpointBody,
        response: {
          200: endpointSchema,
          201: { description: 'Created: the secret is shown this once', ...endpointWithSecretSchema },
          400: invalidRequestResponse('url must be https (http only on 127.0.0.1, localhost or [::1])'),
          404: notFoundResponse('client'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const { endpoint, secret } = await endpoints.put(request.params.id, request.body, 'admin')
      return secret ? reply.code(201).send({ ...endpoint, secret }) : endpoint
    },
  )

  app.post<{ Params: { id: string } }>(
    '/clients/:id/webhook/rotate-secret',
    {
      schema: {
        tags,
        summary: "Replace a caller's signing secret; the new one is returned once",
        security: adminSecurity,
        params: clientParams,
        response: {
          200: { description: 'The new secret, shown this once', ...endpointWithSecretSchema },
          400: badClientId,
          404: noWebhook,
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const { endpoint, secret } = await endpoints.rotateSecret(request.params.id, 'admin')
      return { ...endpoint, secret }
    },
  )

  app.delete<{ Params: { id: string } }>(
    '/clients/:id/webhook',
    {
      schema: {
        tags,
        summary: "Remove a caller's webhook endpoint, with its delivery log",
        security: adminSecurity,
        params: clientParams,
        response: { 204: { description: 'Removed', type: 'null' }, 400: badClientId, 404: noWebhook, ...adminErrors },
      },
    },
    async (request, reply) => {
      await endpoints.remove(request.params.id, 'admin')
      return reply.code(204).send()
    },
  )

  app.get<{ Querystring: DeliveryFilter & { limit: number; cursor?: string } }>(
    '/webhook-deliveries',
    {
      schema: {
        tags,
        summary: 'List webhook deliveries, newest first',
        security: adminSecurity,
        querystring: listQuery,
        response: {
          200: pageOf('A page of deliveries', deliverySchema, deliveryExample),
          400: invalidRequestResponse('querystring/limit must be <= 500'),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query
      return deliveries.list(filter, cursor ? { limit, cursor } : { limit })
    },
  )

  app.post<{ Params: { id: string } }>(
    '/webhook-deliveries/:id/redeliver',
    {
      schema: {
        tags,
        summary: 'Send an event again, with the same webhook-id',
        description:
          'A pending delivery is made due now. A delivered or failed one is copied into a new pending delivery ' +
          '(with its own 24-hour retry window), which is returned.',
        security: adminSecurity,
        params: deliveryParams,
        response: {
          202: { description: 'The delivery that will be sent', ...deliverySchema },
          400: invalidRequestResponse('params/id must match format "uuid"'),
          404: notFoundResponse('delivery'),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => reply.code(202).send(await deliveries.redeliver(request.params.id)),
  )
}

export default adminWebhookRoutes
