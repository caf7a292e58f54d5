// Scopes as a set: what a provider granted (a string split on its separator) against what is asked or required.
import { BrokerError } from '../errors.js'

/** The scopes in a granted `scope` string; providers separate them by a space (RFC 6749 §3.3). */
export function scopeSet(scope: string | null, separator = ' '): Set<string> {
  return new Set((scope ?? '').split(separator).filter(Boolean))
}

/** Refuses a token whose granted scope lacks any of `required`, naming the missing ones. */
export function assertScopesGranted(scope: string | null, required: readonly string[]): void {
  if (required.length === 0) return
  const granted = scopeSet(scope)
  const missingScopes = required.filter((name) => !granted.has(name))
  if (missingScopes.length === 0) return
  throw new BrokerError(
    'insufficient_scope',
    `the granted scope lacks ${missingScopes.join(', ')}: start a new authorization asking for ${missingScopes.length === 1 ? 'it' : 'them'}`,
    { details: { missingScopes } },
  )
}

/** Refuses requested scopes outside a provider's allowedScopes (none listed: any scope may be asked for). */
export function assertScopesAllowed(requested: readonly string[], allowed: readonly string[]): void {
  if (allowed.length === 0) return
  const permitted = new Set(allowed)
  const refused = requested.filter((name) => !permitted.has(name))
  if (refused.length > 0) {
    throw new BrokerError('invalid_scope', `scope not allowed for this provider: ${refused.join(', ')}`)
  }
}
