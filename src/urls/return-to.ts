// Where a user's browser may be sent back to. Both sides are compared as parsed URLs (WHATWG, as browsers parse
// them): same origin, and a path under the prefix's path on a segment boundary.
import { invalidRequest } from '../errors.js'
import { HTTPS_RULE, isHttpsOrLoopback } from './rules.js'

const MAX_LENGTH = 2048
// Whitespace, controls and backslashes are read differently by different URL parsers; an encoded NUL anywhere, and
// encoded separators before the query, let a path escape its prefix once the receiving server decodes it. In the
// query they are data (`?next=%2Fsettings`).
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const AMBIGUOUS = /[\s\\\u0000-\u001f\u007f]|%00/i
const ENCODED_SEPARATOR = /%(?:2f|5c)/i

function parse(value: string): URL | null {
  const beforeQuery = value.split(/[?#]/, 1)[0] ?? ''
  if (value.length > MAX_LENGTH || AMBIGUOUS.test(value) || ENCODED_SEPARATOR.test(beforeQuery)) return null
  try {
    return new URL(value)
  } catch {
    return null
  }
}

/**
 * Validates an allowedReturnTo prefix given by an admin: an absolute https URL (http on loopback hosts), without
 * credentials, query or fragment. Returns its normalized form.
 */
export function returnToPrefix(value: string): string {
  const url = parse(value)
  if (!url) throw invalidRequest('allowedReturnTo entries must be absolute URLs')
  if (!isHttpsOrLoopback(url)) throw invalidRequest(`allowedReturnTo entries must be ${HTTPS_RULE}`)
  if (url.username || url.password || url.search || url.hash) {
    throw invalidRequest('allowedReturnTo entries must not contain credentials, a query or a fragment')
  }
  return url.href
}

function underPath(path: string, prefix: string): boolean {
  if (path === prefix) return true
  const base = prefix.endsWith('/') ? prefix : `${prefix}/`
  return path.startsWith(base)
}

/** The normalized returnTo when it lies under one of the allowed prefixes; null otherwise. */
export function matchReturnTo(returnTo: string, allowedPrefixes: readonly string[]): URL | null {
  const url = parse(returnTo)
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return null
  for (const allowed of allowedPrefixes) {
    const prefix = parse(allowed)
    if (prefix && prefix.origin === url.origin && underPath(url.pathname, prefix.pathname)) return url
  }
  return null
}
