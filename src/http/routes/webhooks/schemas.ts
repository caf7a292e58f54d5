import { connectionEventTypes } from '../../../webhooks/outbox.js'
import { deliveryStatuses } from '../../../webhooks/deliveries.js'

const at = { type: 'string', format: 'date-time' } as const

export const endpointExample = {
  id: '3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c',
  clientId: '5a1d2c3b-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  url: 'https://billing.internal.example/hooks/token-broker',
  events: ['connection.reauthorization_required', 'connection.revoked'],
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}

const secretExample = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4K9mbQAYTmU='

const endpointProperties = {
  id: { type: 'string', format: 'uuid' },
  clientId: { type: 'string', format: 'uuid', description: 'The internal caller the endpoint belongs to' },
  url: { type: 'string', description: 'Where events are POSTed' },
  events: { type: 'array', items: { type: 'string', enum: connectionEventTypes } },
  createdAt: at,
  updatedAt: at,
} as const

const endpointRequired = ['id', 'clientId', 'url', 'events', 'createdAt', 'updatedAt'] as const

export const endpointSchema = {
  description: 'The webhook endpoint (its secret is never shown again)',
  type: 'object',
  required: endpointRequired,
  properties: endpointProperties,
  example: endpointExample,
} as const

export const endpointWithSecretSchema = {
  type: 'object',
  required: [...endpointRequired, 'secret'],
  properties: {
    ...endpointProperties,
    secret: {
      type: 'string',
      description: 'Signing secret (Standard Webhooks `whsec_` format). Shown only in this answer: store it now.',
    },
  },
  example: { ...endpointExample, secret: secretExample },
} as const

export const endpointBody = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    url: {
      type: 'string',
      maxLength: 2048,
      description: 'https URL (http only for 127.0.0.1, localhost, [::1]); no credentials, no fragment',
    },
    events: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: { type: 'string', enum: connectionEventTypes },
      description: 'Events to receive; all of them when left out',
    },
  },
  example: { url: endpointExample.url, events: endpointExample.events },
} as const

export const deliveryExample = {
  id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  eventId: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
  event: 'connection.reauthorization_required',
  clientId: endpointExample.clientId,
  endpointId: endpointExample.id,
  url: endpointExample.url,
  status: 'pending',
  attempts: 2,
  nextAttemptAt: '2026-01-01T10:00:40.000Z',
  lastStatus: 500,
  lastError: 'receiver answered HTTP 500',
  createdAt: '2026-01-01T10:00:00.000Z',
  deliveredAt: null,
  payload: {
    id: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
    type: 'connection.reauthorization_required',
    createdAt: '2026-01-01T10:00:00.000Z',
    data: {
      connectionId: '0b6f3c52-5b1e-4d47-9a55-2f4c8d1f7e21',
      provider: 'google',
      userId: 'user-42',
      status: 'reauthorization_required',
    },
  },
}

export const deliverySchema = {
  type: 'object',
  required: ['id', 'eventId', 'event', 'clientId', 'endpointId', 'url', 'status', 'attempts', 'createdAt', 'payload'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    eventId: { type: 'string', description: 'The `webhook-id` header: the same for every delivery of one event' },
    event: { type: 'string', enum: connectionEventTypes },
    clientId: { type: 'string', format: 'uuid' },
    endpointId: { type: 'string', format: 'uuid' },
    url: { type: 'string' },
    status: {
      type: 'string',
      enum: deliveryStatuses,
      description: '`pending` (not yet delivered, retried until 24 hours), `delivered`, or `failed` (gave up)',
    },
    attempts: { type: 'integer' },
    nextAttemptAt: { ...at, nullable: true, description: 'When a pending delivery is tried next' },
    lastStatus: { type: 'integer', nullable: true, description: "The receiver's last HTTP status" },
    lastError: { type: 'string', nullable: true },
    createdAt: at,
    deliveredAt: { ...at, nullable: true },
    payload: {
      type: 'object',
      description: 'The JSON body that is POSTed',
      required: ['id', 'type', 'createdAt', 'data'],
      properties: {
        id: { type: 'string' },
        type: { type: 'string' },
        createdAt: at,
        data: {
          type: 'object',
          required: ['connectionId', 'provider', 'userId', 'status'],
          properties: {
            connectionId: { type: 'string' },
            provider: { type: 'string' },
            userId: { type: 'string' },
            status: { type: 'string', description: 'The connection status after the event' },
          },
          additionalProperties: true,
          description: 'Besides these, error codes and counts that depend on the event',
        },
      },
    },
  },
  example: deliveryExample,
} as const
