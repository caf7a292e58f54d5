// Keyset pagination: a cursor is base64url of the sort key of the last item returned, opaque to callers. Every
// decoded cursor is checked before it reaches a query: a tampered one is a 400, never a database error.
import { invalidRequest } from '../errors.js'
import { DEFAULT_PAGE_SIZE } from '../schemas/common.js'
import { isUuid, PROVIDER_ID } from '../schemas/ids.js'

/** One page of a list: `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface PageRequest {
  /** The route schema's default when left out. */
  limit?: number | undefined
  cursor?: string | undefined
}

export const limitOf = (page: PageRequest): number => page.limit ?? DEFAULT_PAGE_SIZE

function encodeCursor(key: readonly string[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')
}

function decodeCursor(cursor: string, length: number): string[] {
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalidCursor()
  }
  if (!Array.isArray(key) || key.length !== length || !key.every((part) => typeof part === 'string')) {
    throw invalidCursor()
  }
  return key as string[]
}

const invalidCursor = () => invalidRequest('invalid cursor')

// what toISOString writes for the dates the broker stores: years 0000 to 9999, milliseconds, UTC
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** The position after a row sorted by (createdAt, id) descending, where id is a UUID. */
export interface TimeIdKey {
  createdAt: Date
  id: string
}

export const timeIdCursor = {
  decode(cursor: string): TimeIdKey {
    const [createdAt = '', id = ''] = decodeCursor(cursor, 2)
    const at = new Date(createdAt)
    if (!ISO_INSTANT.test(createdAt) || Number.isNaN(at.getTime()) || at.toISOString() !== createdAt || !isUuid(id)) {
      throw invalidCursor()
    }
    return { createdAt: at, id }
  },
  keyOf: (row: TimeIdKey): string[] => [row.createdAt.toISOString(), row.id],
}

/** The position after a row sorted by a bigint id descending (the audit trail). */
export const bigintCursor = {
  decode(cursor: string): bigint {
    const [id = ''] = decodeCursor(cursor, 1)
    if (!/^\d{1,19}$/.test(id) || BigInt(id) > 9_223_372_036_854_775_807n) throw invalidCursor()
    return BigInt(id)
  },
  keyOf: (row: { id: bigint }): string[] => [row.id.toString()],
}

/** The position after a provider, sorted by id ascending. */
export const providerIdCursor = {
  decode(cursor: string): string {
    const [id = ''] = decodeCursor(cursor, 1)
    if (!PROVIDER_ID.test(id)) throw invalidCursor()
    return id
  },
  keyOf: (row: { id: string }): string[] => [row.id],
}

/** Cuts `rows` (fetched with `limit + 1`) into a page, deriving the cursor from the last item kept. */
export function toPage<R, T>(rows: R[], limit: number, view: (row: R) => T, keyOf: (row: R) => string[]): Page<T> {
  const kept = rows.slice(0, limit)
  const last = kept.at(-1)
  return {
    items: kept.map(view),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null,
  }
}

/** The Prisma condition "after this (createdAt, id)" for a list sorted by both descending. */
export function afterTimeId(key: TimeIdKey | undefined) {
  return key ? { OR: [{ createdAt: { lt: key.createdAt } }, { createdAt: key.createdAt, id: { lt: key.id } }] } : {}
}
