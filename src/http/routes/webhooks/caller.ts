import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound } from '../../../errors.js'
import { EndpointBody, EndpointView, EndpointWithSecret } from '../../../schemas/webhook.js'
import { noStore } from '../../plugins/security-headers.js'
import { callerErrors, callerSecurity, invalidRequestResponse, noContent, notFoundResponse } from '../../schemas.js'

const noWebhook = notFoundResponse('webhook')
const tags = ['tokens']

/** The calling service's own webhook endpoint: one per caller. */
const callerWebhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const endpoints = app.services.webhookEndpoints
  app.addHook('onRequest', app.requireCaller)
  const actorOf = (id: string) => `client:${id}` as const

  app.get(
    '/webhook',
    {
      schema: {
        tags,
        summary: "The caller's webhook endpoint",
        security: callerSecurity,
        response: { 200: EndpointView, 404: noWebhook, ...callerErrors },
      },
    },
    async (request) => {
      const endpoint = await endpoints.get(request.caller!.id)
      if (!endpoint) throw notFound('webhook')
      return endpoint
    },
  )

  app.put(
    '/webhook',
    {
      onRequest: noStore,
      schema: {
        tags,
        summary: 'Register or change the webhook endpoint; the signing secret is returned once, on creation',
        description:
          'Connection events are POSTed to `url`, signed per Standard Webhooks (`webhook-id`, `webhook-timestamp`, ' +
          '`webhook-signature` headers). A caller receives the events of every connection to a provider it is ' +
          'allowed. Changing `url` or `events` keeps the secret and redirects pending deliveries. `url` must be ' +
          'https and its host must not be or resolve to an internal address (loopback, private, link-local, ' +
          'CGNAT, unspecified, multicast, IPv4-mapped), checked again at every delivery; WEBHOOK_ALLOWED_HOSTS ' +
          'lists exceptions.',
        security: callerSecurity,
        body: EndpointBody,
        response: {
          200: EndpointView,
          201: { ...EndpointWithSecret, description: 'Created: the secret is shown this once' },
          400: invalidRequestResponse('url must not reach an internal address (private)'),
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
      onRequest: noStore,
      schema: {
        tags,
        summary: 'Replace the signing secret; the new one is returned once and signs every attempt from now on',
        security: callerSecurity,
        response: {
          200: { ...EndpointWithSecret, description: 'The new secret, shown this once' },
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
        tags,
        summary: 'Remove the webhook endpoint and its pending deliveries',
        security: callerSecurity,
        response: { 204: noContent('Removed'), 404: noWebhook, ...callerErrors },
      },
    },
    async (request, reply) => {
      const { id } = request.caller!
      await endpoints.remove(id, actorOf(id))
      return reply.code(204).send(null)
    },
  )
}

export default callerWebhookRoutes
