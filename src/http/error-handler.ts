import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify'
import { isDatabaseUnavailable } from '../db/errors.js'
import { BrokerError, type ErrorCode } from '../errors.js'

export interface ErrorBody {
  error: string
  message: string
}

// Fastify's own failures that are the caller's fault, mapped to our codes.
const fastifyCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
}

/**
 * Every error answers `{ error, message }`. A BrokerError's message is written for the caller and sent as it is, with
 * Retry-After when it says when to try again; any other error's message stays in the log.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler<FastifyError | BrokerError>((err, request, reply) => {
    if (err instanceof BrokerError) {
      if (err.statusCode >= 500) request.log.warn({ err }, 'request failed')
      if (err.retryAfterSeconds !== undefined) reply.header('retry-after', String(err.retryAfterSeconds))
      return reply.code(err.statusCode).send({ ...err.details, error: err.code, message: err.message })
    }
    if (request.raw.readableAborted) {
      // the client went away in the middle of its request: nobody reads this answer, and nothing else failed
      request.log.info({ errorCode: err.code }, 'client closed the connection before its request was complete')
      return reply.code(400).send({ error: 'invalid_request', message: 'request aborted' })
    }
    const code = (err.validation ? 'invalid_request' : fastifyCodes[err.code]) ?? undefined
    const status = err.statusCode ?? 500
    if (code) {
      const fallback: Record<number, number> = { 413: 413, 415: 415 }
      return reply.code(fallback[status] ?? 400).send({ error: code, message: err.message })
    }
    if (status === 429) return reply.code(429).send({ error: 'rate_limited', message: 'too many requests' })
    // a database restart or failover: the caller may retry in a moment, and nothing is wrong with the request. Errors
    // Fastify gave a status to come from the request itself (its socket, its body), never from the database.
    if (err.statusCode === undefined && isDatabaseUnavailable(err)) {
      request.log.warn({ errorCode: (err as { code?: unknown }).code }, 'database unavailable')
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ error: 'service_unavailable', message: 'the database is unavailable; try again shortly' })
    }
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ error: 'invalid_request', message: err.message })
    }
    request.log.error({ err }, 'unhandled error')
    return reply.code(500).send({ error: 'internal_error', message: 'internal error' })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` })
  })
}

/**
 * Validation failures in Fastify's own words, except an unknown field, which is named: "must NOT have additional
 * properties" does not say which one. Fastify adds `validation` and the 400 status to what this returns.
 */
export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const text = errors.map((error) => {
    const where = dataVar + (error.instancePath || '')
    if (error.keyword !== 'additionalProperties') return `${where} ${error.message ?? 'is invalid'}`
    const field = String((error.params as { additionalProperty?: unknown }).additionalProperty).slice(0, 64)
    return `${where} has an unknown field "${field}"`
  })
  return new Error(text.join(', '))
}

/**
 * The router's own refusals (a malformed percent-encoding, a path parameter over maxParamLength) are answered before
 * any hook or error handler runs: give them the same shape and request id as every other error.
 */
export function answerFrameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply
    .code(400)
    .header('x-request-id', request.id)
    // not err.message: the router quotes the whole URL there, query string (authorization code, state) included
    .send({
      error: 'invalid_request',
      message: err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'malformed URL',
    } satisfies ErrorBody)
}
