// Schema pieces every route file uses: the error body, admin errors, and cursor pagination.
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../services/pagination.js'

export function errorResponse(description: string, example: { error: string; message: string }) {
  return {
    description,
    type: 'object',
    required: ['error', 'message'],
    properties: { error: { type: 'string' }, message: { type: 'string' } },
    example,
  } as const
}

/** The answers every admin route can give besides its own. */
export const adminErrors = {
  401: errorResponse('Missing or wrong admin token', { error: 'unauthorized', message: 'admin token required' }),
  429: errorResponse('Too many failed authentications from this address', {
    error: 'rate_limited',
    message: 'too many failed authentications, retry in 1 minute',
  }),
} as const

export const invalidRequestResponse = (message: string) =>
  errorResponse('Invalid parameters', { error: 'invalid_request', message })

export const notFoundResponse = (what: string) =>
  errorResponse(`No such ${what}`, { error: 'not_found', message: `${what} not found` })

export const adminSecurity = [{ admin: [] }]

export const pageQueryProperties = {
  limit: {
    type: 'integer',
    minimum: 1,
    maximum: MAX_PAGE_SIZE,
    default: DEFAULT_PAGE_SIZE,
    description: `Items per page (at most ${MAX_PAGE_SIZE})`,
  },
  cursor: { type: 'string', description: 'The `nextCursor` of the previous page' },
} as const

/** `{ items, nextCursor }` around an item schema. */
export function pageOf<T extends object>(description: string, item: T, example: unknown) {
  return {
    description,
    type: 'object',
    required: ['items', 'nextCursor'],
    properties: {
      items: { type: 'array', items: item },
      nextCursor: {
        type: 'string',
        nullable: true,
        description: 'Pass as `cursor` for the next page; null on the last',
      },
    },
    example: { items: [example], nextCursor: 'WyIyMDI2LTAxLTAxVDEwOjAwOjAwLjAwMFoiXQ' },
  } as const
}
