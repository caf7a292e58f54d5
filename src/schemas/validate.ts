// The resource schemas compiled outside HTTP (PROVIDERS_FILE), by the validator Fastify uses for the routes, so that a
// file entry and an admin request are held to the same rules.
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import { createRequire } from 'node:module'
import type { Static, TSchema } from 'typebox'

let ajv: Ajv | undefined

/** Ajv with its formats, loaded on the first check: a start that checks no file loads neither. */
function loadAjv(): Ajv {
  const require = createRequire(import.meta.url)
  const { Ajv } = require('ajv') as typeof import('ajv')
  // a CommonJS module whose export is the function
  const addFormats = require('ajv-formats') as (ajv: Ajv) => Ajv
  return addFormats(new Ajv({ allErrors: true, keywords: ['example'] }))
}

/**
 * A checker of `schema`: the value as its type, or the list of what is wrong with it. Compiled on its first use: a
 * start that reads no file compiles none.
 */
export function validator<T extends TSchema>(schema: T) {
  let check: ValidateFunction | undefined
  return (value: unknown): { ok: true; value: Static<T> } | { ok: false; errors: string[] } => {
    ajv ??= loadAjv()
    check ??= ajv.compile(schema)
    return check(value)
      ? { ok: true, value: value as Static<T> }
      : { ok: false, errors: (check.errors ?? []).map(describe) }
  }
}

function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'entry'
  if (error.keyword === 'additionalProperties') {
    return `unknown field ${(error.params as { additionalProperty: string }).additionalProperty}`
  }
  return `${where} ${error.message ?? 'is invalid'}`
}
