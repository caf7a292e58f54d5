// Fastify compiles every route's validators (Ajv) and response serializers (fast-json-stringify) while it starts: with
// the admin API that was about a third of the time from `node dist/server.js` to ready. The same compilers, from the
// same schemas, now compile a route's function the first time a request needs it; a route never asked costs nothing.
// The compilers themselves (Ajv is about a tenth of the modules a start loaded) are loaded by that first request too.
import type ValidatorSelector from '@fastify/ajv-compiler'
import type SerializerSelector from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)

type Validator = ((data: unknown, context?: unknown) => unknown) & { errors?: unknown; schemaEnv?: unknown }

/**
 * A validator compiled on its first call. Fastify reads a failed validation's `errors` from the function it holds, and
 * gives an Ajv function (one with `schemaEnv`) the request as the value's parent, so that a coerced root value (a
 * number for a string body) replaces the request's: the wrapper says it is one and passes the parent on.
 */
export function lazyValidator(compile: () => Validator): Validator {
  let compiled: Validator | undefined
  const validate: Validator = (data, context) => {
    compiled ??= compile()
    const result = compiled(data, context)
    validate.errors = compiled.errors
    return result
  }
  validate.schemaEnv = true
  return validate
}

/** A serializer compiled on its first call. */
export function lazySerializer(compile: () => (data: unknown) => string): (data: unknown) => string {
  let compiled: ((data: unknown) => string) | undefined
  return (data) => (compiled ??= compile())(data)
}

/** Fastify's own compiler factories, each route's function compiled on first use. */
export function lazyCompilers(): NonNullable<FastifyServerOptions['schemaController']> {
  // Fastify's types for these factories name Ajv's function types; what Fastify calls is plain functions. Each is
  // one of the package's own selectors, made once for the application, as Fastify makes them.
  let buildValidator: LooseFactory<Validator> | undefined
  let buildSerializer: LooseFactory<(data: unknown) => string> | undefined
  const validators = () =>
    (buildValidator ??= (
      require('@fastify/ajv-compiler') as typeof ValidatorSelector
    )() as unknown as LooseFactory<Validator>)
  const serializers = () =>
    (buildSerializer ??= (
      require('@fastify/fast-json-stringify-compiler') as typeof SerializerSelector
    )() as unknown as LooseFactory<(data: unknown) => string>)
  const compilersFactory = {
    // Fastify calls these once for each plugin context that has its own schemas, with them: the context's compiler
    // is made on the first request that needs one of its routes, from what Fastify gave
    buildValidator: (externalSchemas: unknown, options: unknown) => {
      let compile: ((route: unknown) => Validator) | undefined
      return (route: unknown) => lazyValidator(() => (compile ??= validators()(externalSchemas, options))(route))
    },
    buildSerializer: (externalSchemas: unknown, options: unknown) => {
      let compile: ((route: unknown) => (data: unknown) => string) | undefined
      return (route: unknown) => lazySerializer(() => (compile ??= serializers()(externalSchemas, options))(route))
    },
  }
  return { compilersFactory } as unknown as NonNullable<FastifyServerOptions['schemaController']>
}

type LooseFactory<F> = (externalSchemas: unknown, options: unknown) => (route: unknown) => F
