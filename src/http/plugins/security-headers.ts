import helmet from '@fastify/helmet'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

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
    await app.register(helmet, {
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
  },
  { name: 'security-headers' },
)

/** For routes whose answer carries a secret or a bearer capability (an API key, a signing secret, a start link). */
export async function noStore(_request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('cache-control', 'no-store')
}
