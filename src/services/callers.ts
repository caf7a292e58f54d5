// Internal callers: who an API key belongs to, and what a caller may touch.
import { hash } from 'node:crypto'
import type { Deps } from '../deps.js'
import { forbidden } from '../errors.js'
import { hashApiKey } from './api-keys.js'

/** An internal caller, authenticated by its API key (or, during a rotation's grace period, its previous one). */
export interface Caller {
  id: string
  name: string
  /** The only namespace whose connections the caller reads, starts flows for and hears of. */
  namespace: string
  allowedProviders: string[]
  allowedReturnTo: string[]
}

const MAX_CACHED_KEYS = 10_000

/**
 * Looks up the caller of an API key. A looked-up key (found or not) is trusted for `apiKeyCacheTtlMs` of the injected
 * clock, which bounds how late another instance's revocation takes effect; when a busy caller's entry expires, its
 * requests in flight share one read instead of making one each.
 */
export function createCallerService(deps: Pick<Deps, 'db' | 'now' | 'timing'>) {
  const { db } = deps
  const ttlMs = deps.timing.apiKeyCacheTtlMs
  const cache = new Map<string, { caller: Caller | null; at: number; until: number }>()
  const reading = new Map<string, Promise<Caller | null>>()

  async function read(apiKey: string, cacheKey: string): Promise<Caller | null> {
    const keyHash = hashApiKey(apiKey)
    const now = deps.now()
    const row = await db.prisma.apiClient.findFirst({
      where: {
        revokedAt: null,
        OR: [{ keyHash }, { previousKeyHash: keyHash, previousKeyExpiresAt: { gt: now } }],
      },
    })
    const caller = row ? toCaller(row) : null
    // a key kept by a rotation's grace period stops at its end, even while cached
    const previous = row !== null && !Buffer.from(row.keyHash).equals(keyHash)
    const until = previous ? (row.previousKeyExpiresAt?.getTime() ?? 0) : Infinity
    if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string)
    cache.set(cacheKey, { caller, at: now.getTime(), until })
    return caller
  }

  return {
    /** The caller whose API key this is; null for an unknown or revoked key. */
    authenticate(apiKey: string): Promise<Caller | null> {
      // every authenticated request hashes its key: one call, without a Hash object, straight to the cache's key
      const cacheKey = hash('sha256', apiKey, 'base64')
      const hit = cache.get(cacheKey)
      const now = deps.now().getTime()
      const age = hit ? now - hit.at : Infinity
      if (hit && age >= 0 && age < ttlMs && now < hit.until) return Promise.resolve(hit.caller)
      let pending = reading.get(cacheKey)
      if (!pending) {
        pending = read(apiKey, cacheKey).finally(() => reading.delete(cacheKey))
        reading.set(cacheKey, pending)
      }
      return pending
    },
  }
}

export type CallerService = ReturnType<typeof createCallerService>

function toCaller(row: Caller): Caller {
  const { id, name, namespace, allowedProviders, allowedReturnTo } = row
  return { id, name, namespace, allowedProviders, allowedReturnTo }
}

/** Refuses a provider the caller is not allowed: it may neither start flows for it nor read or delete its tokens. */
export function assertProviderAllowed(caller: Caller, providerId: string): void {
  if (!caller.allowedProviders.includes(providerId)) {
    throw forbidden(`provider "${providerId}" is not allowed for this caller`)
  }
}
