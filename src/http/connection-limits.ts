import type { ServerOptions } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Timing } from '../deps.js'

/**
 * Fastify's defaults wait for ever for a request (`requestTimeout` 0, no idle timeout): a client trickling headers or
 * a body holds a socket for as long as it likes. A whole request must arrive within `requestTimeoutSeconds`; an idle
 * socket is closed once it has been silent longer than any answer can take (a wait for another instance's refresh).
 */
export function connectionTimeouts(
  requestTimeoutSeconds: number,
  timing: Pick<Timing, 'waitMs'>,
): { requestTimeout: number; connectionTimeout: number; keepAliveTimeout: number; http: ServerOptions } {
  const requestTimeout = requestTimeoutSeconds * 1000
  return {
    requestTimeout,
    connectionTimeout: Math.max(requestTimeout, timing.waitMs) + 10_000,
    // Fastify's default, kept: longer than the usual load balancer's idle timeout, so the balancer closes first
    keepAliveTimeout: 72_000,
    // Node checks both timeouts only every 30 s by default: a short timeout would be overrun by up to that much
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: Math.min(30_000, requestTimeout / 4) },
  }
}

/**
 * An answer given before the request's body was read (a 401 from an onRequest hook, a 413 from its Content-Length)
 * closes the connection: otherwise Node reads and discards the rest of the body to keep the socket alive, for as
 * long as the client takes to send it.
 */
export function closeAfterEarlyAnswer(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    // light-my-request's requests (app.inject) have no `complete`: only a real socket has a body still to come
    if (request.raw.complete === false) reply.header('connection', 'close')
    done(null, payload)
  })
}
