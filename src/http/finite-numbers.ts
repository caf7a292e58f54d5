import type { FastifyInstance } from 'fastify'
import { invalidRequest } from '../errors.js'

/**
 * Ajv (8.20) coerces a query or path value such as `1e309` to Infinity and then skips `minimum` and `maximum`, which
 * it checks only for finite numbers: `?limit=1e309` would reach the services as Infinity. JSON bodies cannot carry
 * one (Ajv refuses a non-finite number that needed no coercion). Refused here, after validation, for every route.
 */
export function refuseNonFiniteNumbers(app: FastifyInstance): void {
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
  })
}
