// The URL rules every entry point shares: provider endpoints, webhook receivers and returnTo prefixes are https,
// except on loopback hosts, where tests and local development run.
import { invalidRequest } from '../errors.js'

export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]'])

export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname)
}

/** https anywhere; plain http only on a loopback host. */
export function isHttpsOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url))
}

export const HTTPS_RULE = 'https (http only on 127.0.0.1, localhost or [::1])'

/**
 * A URL the broker itself calls (a provider endpoint, a webhook receiver): absolute, https or loopback, without
 * credentials or a fragment. Returns its normalized form; refuses with `invalid_request` naming `field`.
 */
export function serviceUrl(field: string, value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw invalidRequest(`${field} must be an absolute URL`)
  }
  if (!isHttpsOrLoopback(url)) throw invalidRequest(`${field} must be ${HTTPS_RULE}`)
  if (url.username || url.password) throw invalidRequest(`${field} must not contain credentials`)
  if (url.hash) throw invalidRequest(`${field} must not contain a fragment`)
  return url.href
}
