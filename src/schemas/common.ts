// Building blocks of the resource schemas. A schema here is plain JSON Schema (what the routes validate with and what
// openapi.yaml shows), and its TypeScript type is derived from it with `Static`.
import type { Static, TSchema } from 'typebox'
import { PROVIDER_ID_PATTERN } from './ids.js'
import { Type } from './type.js'

export { Type, type Static, type TSchema }

/** The value, or null: OpenAPI 3.0's `nullable`. */
export const Nullable = <T extends TSchema>(schema: T) => Type.Unsafe<Static<T> | null>({ ...schema, nullable: true })

/** An instant: an ISO 8601 string on the wire, a Date in the services. */
export const DateTime = (options: { description?: string } = {}) =>
  Type.Unsafe<Date>({ type: 'string', format: 'date-time', ...options })

/** One of a few strings, as `{ type: string, enum }`. */
export const StringEnum = <const T extends readonly string[]>(values: T, options: { description?: string } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })

/** An object of free keys, each holding `value`: OpenAPI's `additionalProperties` map. */
export const StringMap = <T extends TSchema>(
  value: T,
  options: { description?: string; maxProperties?: number } = {},
) => Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...options })

export const ProviderId = (options: { description?: string } = {}) =>
  Type.String({ pattern: PROVIDER_ID_PATTERN, maxLength: 64, ...options })

export const Uuid = (options: { description?: string } = {}) => Type.String({ format: 'uuid', ...options })

export const UserId = Type.String({
  minLength: 1,
  maxLength: 256,
  description: 'Your identifier of the user, as given to POST /authorizations',
  example: 'user-42',
})

/** Provider and webhook URLs: https, except on loopback hosts (checked beyond the schema). */
export const ServiceUrl = (options: { description?: string } = {}) =>
  Type.String({ maxLength: 2048, format: 'uri', ...options })

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() })
export type ErrorBody = Static<typeof ErrorBody>

export const DEFAULT_PAGE_SIZE = 50
export const MAX_PAGE_SIZE = 500

/** The query of every list: cursor pagination. */
export const pageQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
      description: `Items per page (at most ${MAX_PAGE_SIZE})`,
    }),
  ),
  cursor: Type.Optional(Type.String({ description: 'The `nextCursor` of the previous page' })),
}

/** `{ items, nextCursor }` around an item schema. */
export const PageOf = <T extends TSchema>(description: string, item: T, example: unknown) =>
  Type.Object(
    {
      items: Type.Array(item),
      nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last' })),
    },
    { description, example: { items: [example], nextCursor: 'WyIyMDI2LTAxLTAxVDEwOjAwOjAwLjAwMFoiXQ' } },
  )
