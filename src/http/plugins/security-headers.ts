import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

export interface SecurityHeadersOptions {
  /** Browsers reach the broker over https (PUBLIC_URL): only then is Strict-Transport-Security sent. */
  https: boolean
}

/**
 * The ecosystem's headers for every answer (helmet): nosniff, no referrer, no framing, same-origin resources. The
 * default policy suits the JSON API and Fastify's own answers (nothing to load, never framed); the flow pages and
 * Swagger UI set their own, narrower or wider, which win over this one.
 */
export default fp<SecurityHeadersOptions>(
  async (app, { https }) => {
    const headers = helmetHeaders({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          baseUri: ["'none'"],
          formAction: ["'none'"],
          frameAncestors: ["'none'"],
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      xFrameOptions: { action: 'deny' },
      // includeSubDomains would decide for every host of the domain: not the broker's call
      strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: false } : false,
    })
    // the same headers on every answer: set from one object, not worked out again by helmet for each request
    app.addHook('onRequest', (_request, reply, done) => {
      reply.headers(headers)
      done()
    })
  },
  { name: 'security-headers' },
)

/**
 * The headers helmet sets with these options, collected once. Nothing in them depends on the request (no CSP nonces),
 * so helmet runs here against a response that only records them.
 */
export function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value)
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()]
    },
  }
  let finished = false
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err
    finished = true
  })
  if (!finished) throw new Error('helmet did not finish synchronously')
  return headers
}

/** For routes whose answer carries a secret or a bearer capability (an API key, a signing secret, a start link). */
export async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store')
}
