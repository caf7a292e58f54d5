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
  const inQueryNumber = nonFiniteName(query)
  if (inQueryNumber !== undefined) return invalidRequest(`querystring/${inQueryNumber} must be finite`)
  const inParamsNumber = nonFiniteName(params)
  if (inParamsNumber !== undefined) return invalidRequest(`params/${inParamsNumber} must be finite`)
  const inParams = textProblem(params, 0)
  if (inParams) return invalidRequest(`params ${problemMessage[inParams]}`)
  const inQuery = textProblem(query, 0)
  if (inQuery) return invalidRequest(`querystring ${problemMessage[inQuery]}`)
  const inBody = textProblem(body, 0)
  if (inBody) return invalidRequest(`body ${problemMessage[inBody]}`)
  return undefined
}

/** The first field of a query or path whose value is a number that is not finite. */
function nonFiniteName(values: unknown): string | undefined {
  if (!values || typeof values !== 'object') return undefined
  for (const name in values) {
    if (!Object.hasOwn(values, name)) continue
    const value = (values as Record<string, unknown>)[name]
    if (typeof value === 'number' && !Number.isFinite(value)) return name
  }
  return undefined
}

type TextProblem = 'nul' | 'lone_surrogate'

const problemMessage: Record<TextProblem, string> = {
  nul: 'must not contain NUL characters',
  lone_surrogate: 'must be well-formed Unicode (no lone surrogates)',
}

// a lone surrogate is what makes a string not well-formed (String.prototype.isWellFormed: Node 20 and later)
const problemOfText = (text: string): TextProblem | undefined =>
  text.includes('\u0000') ? 'nul' : text.isWellFormed() ? undefined : 'lone_surrogate'

/** The first problem of any string in `value`, or any key of its objects: one walk for both checks. */
function textProblem(value: unknown, depth: number): TextProblem | undefined {
  if (typeof value === 'string') return problemOfText(value)
  if (depth > 32 || value === null || typeof value !== 'object') return undefined
  if (Array.isArray(value)) {
    for (const child of value) {
      const problem = textProblem(child, depth + 1)
      if (problem) return problem
    }
    return undefined
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const problem = problemOfText(key) ?? textProblem((value as Record<string, unknown>)[key], depth + 1)
    if (problem) return problem
  }
  return undefined
}
