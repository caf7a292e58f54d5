import type { FastifyRequest } from 'fastify'

/** The bearer credential of a request's Authorization header, if it carries one. */
export function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string') return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}
