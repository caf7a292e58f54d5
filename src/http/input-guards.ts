import type { FastifyInstance } from 'fastify'
import { invalidRequest } from '../errors.js'

/**
 * Refuses, for every route and after validation, two kinds of input the schemas let through:
 * - a non-finite number in the query or path: Ajv (8.20) coerces `1e309` to Infinity and then skips `minimum` and
 *   `maximum`, which it checks only for finite numbers, so `?limit=1e309` would reach the services as Infinity;
 * - a NUL character in any string: Postgres text cannot hold one, and the query would fail as a 500;
 * - text that is not well-formed Unicode (a lone surrogate, which JSON's \ud800 escapes can carry): Postgres stores
 *   each one as U+FFFD, so two different ids would name the same row.
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
      if (holdsText(value, NUL, 0)) throw invalidRequest(`${part} must not contain NUL characters`)
      if (holdsText(value, LONE_SURROGATE, 0)) {
        throw invalidRequest(`${part} must be well-formed Unicode (no lone surrogates)`)
      }
    }
  })
}

const NUL = (text: string) => text.includes('\u0000')
// with the u flag a paired surrogate is one code point outside the Cs category: only a lone one matches
const LONE_SURROGATE = (text: string) => /\p{Cs}/u.test(text)

/** Whether any string in `value`, or any key of its objects, is `bad`. */
function holdsText(value: unknown, bad: (text: string) => boolean, depth: number): boolean {
  if (typeof value === 'string') return bad(value)
  if (depth > 32 || value === null || typeof value !== 'object') return false
  for (const [key, child] of Object.entries(value)) {
    if (bad(key) || holdsText(child, bad, depth + 1)) return true
  }
  return false
}
