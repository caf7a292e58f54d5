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
  app.addHook('preHandler', (request, _reply, done) => {
    done(inputProblem(request.params, request.query, request.body))
  })
}

function inputProblem(params: unknown, query: unknown, body: unknown): Error | undefined {
  for (const [part, values] of [
    ['querystring', query],
    ['params', params],
  ] as const) {
    if (!values || typeof values !== 'object') continue
    for (const [name, value] of Object.entries(values)) {
      if (typeof value === 'number' && !Number.isFinite(value)) return invalidRequest(`${part}/${name} must be finite`)
    }
  }
  for (const [part, value] of [
    ['params', params],
    ['querystring', query],
    ['body', body],
  ] as const) {
    const problem = textProblem(value, 0)
    if (problem) return invalidRequest(`${part} ${problemMessage[problem]}`)
  }
  return undefined
}

type TextProblem = 'nul' | 'lone_surrogate'

const problemMessage: Record<TextProblem, string> = {
  nul: 'must not contain NUL characters',
  lone_surrogate: 'must be well-formed Unicode (no lone surrogates)',
}

// with the u flag a paired surrogate is one code point outside the Cs category: only a lone one matches; text
// without any surrogate (almost all of it) skips that slower test
const problemOfText = (text: string): TextProblem | undefined =>
  text.includes('\u0000') ? 'nul' : /[\ud800-\udfff]/.test(text) && /\p{Cs}/u.test(text) ? 'lone_surrogate' : undefined

/** The first problem of any string in `value`, or any key of its objects: one walk for both checks. */
function textProblem(value: unknown, depth: number): TextProblem | undefined {
  if (typeof value === 'string') return problemOfText(value)
  if (depth > 32 || value === null || typeof value !== 'object') return undefined
  for (const [key, child] of Object.entries(value)) {
    const problem = problemOfText(key) ?? textProblem(child, depth + 1)
    if (problem) return problem
  }
  return undefined
}
