import type { FastifyPluginAsync } from 'fastify'
import { notFound } from '../../../errors.js'
import type { WebhookEndpointInput } from '../../../webhooks/endpoints.js'
import { errorResponse, invalidRequestResponse } from '../../schemas.js'
import { endpointBody, endpointSchema, endpointWithSecretSchema } from './schemas.js'

const security = [{ caller: [] }]
const callerErrors = {
  401: errorResponse('Missing or invalid API key', { error: 'unauthorized', message: 'a valid API key is required' }),
  429: errorResponse('Too many failed authentications from this address', {
    error: 'rate_limited',
    message: 'too many failed authentications, retry in 1 minute',
  }),
} as const
const noWebhook = errorResponse('No webhook is registered', { error: 'not_found', message: 'webhook not found' })

/** The calling service's own webhook endpoint: one per caller. */
const callerWebhookRoutes: FastifyPluginAsync = async (app) => {
  const { endpoints } = app.webhooks
  app.addHook('onRequest', app.requireCaller)
  const actorOf = (id: string) => `client:${id}` as const

  app.get(
    '/webhook',
    {
      schema: {
        tags: ['tokens'],
        summary: "The caller's webhook endpoint",
        security,
        response: { 200: endpointSchema, 404: noWebhook, ...callerErrors },
      },
    },
    async (request) => {
      const endpoint = await endpoints.get(request.caller!.id)
      if (!endpoint) throw notFound('webhook')
      return endpoint
    },
  )

  app.put<{ Body: WebhookEndpointInput }>(
    '/webhook',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Register or change the webhook endpoint; the signing secret is returned once, on creation',
        description:
          'Connection events are POSTed to `url`, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, ' +
          '`webhook-signature` headers). A caller receives the events of every connection to a provider it is ' +
          'allowed. Changing `url` or `events` keeps the secret and redirects pending deliveries.',
        security,
        body: endpointBody,
        response: {
          200: endpointSchema,
          201: { description: 'Created: the secret is shown this once', ...endpointWithSecretSchema },
          400: invalidRequestResponse('url must be https (http only on 127.0.0.1, localhost or [::1])'),
          ...callerErrors,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.caller!
      const { endpoint, secret } = await endpoints.put(id, request.body, actorOf(id))
      return secret ? reply.code(201).send({ ...endpoint, secret }) : endpoint
    },
  )

  app.post(
    '/webhook/rotate-secret',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Replace the signing secret; the new one is returned once and signs every attempt from now on',
        security,
        response: {
          200: { description: 'The new secret, shown this once', ...endpointWithSecretSchema },
          404: noWebhook,
          ...callerErrors,
        },
      },
    },
    async (request) => {
      const { id } = request.caller!
      const { endpoint, secret } = await endpoints.rotateSecret(id, actorOf(id))
      return { ...endpoint, secret }
    },
  )

  app.delete(
    '/webhook',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Remove the webhook endpoint and its pending deliveries',
        security,
        response: { 204: { description: 'Removed', type: 'null' }, 404: noWebhook, ...callerErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.caller!
      await endpoints.remove(id, actorOf(id))
      return reply.code(204).send()
    },
  )
}

export default callerWebhookRoutes
