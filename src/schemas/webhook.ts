// A caller's webhook endpoint, and the deliveries of events to it.
import { DateTime, Nullable, pageQuery, StringEnum, Type, Uuid, type Static } from './common.js'

export const connectionEventTypes = [
  'connection.created',
  'connection.refresh_failed',
  'connection.reauthorization_required',
  'connection.recovered',
  'connection.revoked',
  'connection.expiring',
] as const
export type ConnectionEventType = (typeof connectionEventTypes)[number]

export const deliveryStatuses = ['pending', 'delivered', 'failed'] as const
export type DeliveryStatus = (typeof deliveryStatuses)[number]

export const endpointExample = {
  id: '3f1c2b4a-9d8e-4f7a-8b6c-5d4e3f2a1b0c',
  clientId: '5a1d2c3b-0e9f-4a8b-8c7d-6e5f4a3b2c1d',
  url: 'https://billing.internal.example/hooks/token-broker',
  events: ['connection.reauthorization_required', 'connection.revoked'],
  createdAt: '2026-01-01T09:00:00.000Z',
  updatedAt: '2026-01-01T09:00:00.000Z',
}

const endpointProperties = {
  id: Uuid(),
  clientId: Uuid({ description: 'The internal caller the endpoint belongs to' }),
  url: Type.String({ description: 'Where events are POSTed' }),
  events: Type.Array(StringEnum(connectionEventTypes)),
  createdAt: DateTime(),
  updatedAt: DateTime(),
}

export const EndpointView = Type.Object(endpointProperties, {
  description: 'The webhook endpoint (its secret is never shown again)',
  example: endpointExample,
})
export type EndpointView = Static<typeof EndpointView>

export const EndpointWithSecret = Type.Object(
  {
    ...endpointProperties,
    secret: Type.String({
      description: 'Signing secret (Standard Webhooks `whsec_` format). Shown only in this answer: store it now.',
    }),
  },
  { example: { ...endpointExample, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4K9mbQAYTmU=' } },
)

export const EndpointBody = Type.Object(
  {
    url: Type.String({
      maxLength: 2048,
      description: 'https URL (http only for 127.0.0.1, localhost, [::1]); no credentials, no fragment',
    }),
    events: Type.Optional(
      Type.Array(StringEnum(connectionEventTypes), {
        minItems: 1,
        uniqueItems: true,
        description: 'Events to receive; all of them when left out',
      }),
    ),
  },
  {
    additionalProperties: false,
    example: { url: '<https://your-service.example/hooks>', events: endpointExample.events },
  },
)
export type EndpointBody = Static<typeof EndpointBody>

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

export const DeliveryView = Type.Object(
  {
    id: Uuid(),
    eventId: Type.String({ description: 'The `webhook-id` header: the same for every delivery of one event' }),
    event: StringEnum(connectionEventTypes),
    clientId: Uuid(),
    endpointId: Uuid(),
    url: Type.String(),
    status: StringEnum(deliveryStatuses, {
      description: '`pending` (not yet delivered, retried until 24 hours), `delivered`, or `failed` (gave up)',
    }),
    attempts: Type.Integer(),
    nextAttemptAt: Nullable(DateTime({ description: 'When a pending delivery is tried next' })),
    lastStatus: Nullable(Type.Integer({ description: "The receiver's last HTTP status" })),
    lastError: Nullable(Type.String()),
    createdAt: DateTime(),
    deliveredAt: Nullable(DateTime()),
    payload: Type.Object(
      {
        id: Type.String(),
        type: Type.String(),
        createdAt: Type.String({ format: 'date-time' }),
        data: Type.Object(
          {
            connectionId: Type.String(),
            provider: Type.String(),
            userId: Type.String(),
            status: Type.String({ description: 'The connection status after the event' }),
          },
          {
            additionalProperties: true,
            description: 'Besides these, error codes and counts that depend on the event',
          },
        ),
      },
      { description: 'The JSON body that is POSTed' },
    ),
  },
  { example: deliveryExample },
)
export type DeliveryView = Static<typeof DeliveryView>

export const DeliveryListQuery = Type.Object(
  {
    clientId: Type.Optional(Uuid({ description: 'Only deliveries to this caller' })),
    status: Type.Optional(StringEnum(deliveryStatuses)),
    ...pageQuery,
  },
  { additionalProperties: false },
)
export type DeliveryListQuery = Static<typeof DeliveryListQuery>
