import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound } from '../../../errors.js'
import { PageOf, Type, Uuid } from '../../../schemas/common.js'
import {
  deliveryExample,
  DeliveryListQuery,
  DeliveryView,
  EndpointBody,
  EndpointView,
  EndpointWithSecret,
} from '../../../schemas/webhook.js'
import { noStore } from '../../plugins/security-headers.js'
import { adminErrors, adminSecurity, invalidRequestResponse, noContent, notFoundResponse } from '../../schemas.js'

const clientParams = Type.Object({ id: Uuid({ description: 'Client id' }) })
const deliveryParams = Type.Object({ id: Uuid({ description: 'Delivery id' }) })
const badClientId = invalidRequestResponse('params/id must match format "uuid"')
const noWebhook = notFoundResponse('webhook')
const tags = ['admin']

/** A caller's webhook endpoint, managed by the admin; the delivery log and redelivery. */
const adminWebhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const endpoints = app.services.webhookEndpoints
  const deliveries = app.services.webhookDeliveries
  app.addHook('onRequest', app.requireAdmin)

  app.get(
    '/clients/:id/webhook',
    {
      schema: {
        tags,
        summary: "A caller's webhook endpoint",
        security: adminSecurity,
        params: clientParams,
        response: { 200: EndpointView, 400: badClientId, 404: noWebhook, ...adminErrors },
      },
    },
    async (request) => {
      const endpoint = await endpoints.get(request.params.id)
      if (!endpoint) throw notFound('webhook')
      return endpoint
    },
  )

  app.put(
    '/clients/:id/webhook',
    {
      onRequest: noStore,
      schema: {
        tags,
        summary: "Register or change a caller's webhook endpoint; the signing secret is returned once, on creation",
        security: adminSecurity,
        params: clientParams,
        body: EndpointBody,
        response: {
          200: EndpointView,
          201: { ...EndpointWithSecret, description: 'Created: the secret is shown this once' },
          400: invalidRequestResponse('url must not reach an internal address (private)'),
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

  app.post(
    '/clients/:id/webhook/rotate-secret',
    {
      onRequest: noStore,
      schema: {
        tags,
        summary: "Replace a caller's signing secret; the new one is returned once",
        security: adminSecurity,
        params: clientParams,
        response: {
          200: { ...EndpointWithSecret, description: 'The new secret, shown this once' },
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

  app.delete(
    '/clients/:id/webhook',
    {
      schema: {
        tags,
        summary: "Remove a caller's webhook endpoint, with its delivery log",
        security: adminSecurity,
        params: clientParams,
        response: { 204: noContent('Removed'), 400: badClientId, 404: noWebhook, ...adminErrors },
      },
    },
    async (request, reply) => {
      await endpoints.remove(request.params.id, 'admin')
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/webhook-deliveries',
    {
      schema: {
        tags,
        summary: 'List webhook deliveries, newest first',
        security: adminSecurity,
        querystring: DeliveryListQuery,
        response: {
          200: PageOf('A page of deliveries', DeliveryView, deliveryExample),
          400: invalidRequestResponse('invalid cursor'),
          ...adminErrors,
        },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query
      return deliveries.list(filter, { limit, cursor })
    },
  )

  app.post(
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
          202: { ...DeliveryView, description: 'The delivery that will be sent' },
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
