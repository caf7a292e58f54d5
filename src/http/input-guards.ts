import type { FastifyInstance } from 'fastify'
import { invalidRequest } from '../errors.js'

/**
 * Refuses, for every route and after validation, two kinds of input the schemas let through:
 * - a non-finite number in the query or path: Ajv (8.20) coerces `1e309` to Infinity and then skips `minimum` and
 *   `maximum`, which it checks only for finite numbers, so `?limit=1e309` would reach the services as Infinity;
 * - a NUL character in any string: Postgres text cannot hold one, and the query would fail as a 500.
 */
export function guardInputs(app: FastifyInstance): void {
  app.addHook('preHandler', async (request) => {
    for (const [part, values] of [
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      if (!values || typeof values !== 'object') continue
      for (const [name, value] of Object.entries(values)) {
        if (typeof value === 'number' && !Number.isFinite(value)) throw invalidRequest(`${part}/${name} must be finite`)
      }
    }
    for (const [part, value] of [
      ['params', request.params],
      ['querystring', request.query],
      ['body', request.body],
    ] as const) {
      if (holdsNul(value, 0)) throw invalidRequest(`${part} must not contain NUL characters`)
    }
  })
}

function holdsNul(value: unknown, depth: number): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (depth > 32 || value === null || typeof value !== 'object') return false
  for (const [key, child] of Object.entries(value)) {
    if (key.includes('\u0000') || holdsNul(child, depth + 1)) return true
  }
  return false
}
