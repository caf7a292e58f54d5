// Internal callers: who an API key belongs to, and what a caller may touch.
import { hash } from 'node:crypto'
import { isDatabaseUnavailable } from '../db/errors.js'
import type { Deps } from '../deps.js'
import { forbidden } from '../errors.js'
import { hashApiKey } from './api-keys.js'
import { LastKnown, type DatabaseOutage } from './database-outage.js'

/** An internal caller, authenticated by its API key (or, during a rotation's grace period, its previous one). */
export interface Caller {
  id: string
  name: string
  /** The only namespace whose connections the caller reads, starts flows for and hears of. */
  namespace: string
  allowedProviders: string[]
  allowedReturnTo: string[]
}

export type CallerChange = 'updated' | 'key_rotated' | 'revoked'

const MAX_CACHED_KEYS = 10_000

type CallerRow = Caller & { keyHash: Uint8Array; previousKeyExpiresAt: Date | null }

// On the driver: every caller's key is looked up again each apiKeyCacheTtlMs. The current key, or the one a rotation
// replaced while its grace lasts; a revoked caller's keys are never found.
const callerByKeyHash = {
  name: 'caller_by_key_hash',
  text: `SELECT id::text AS id, name, namespace, allowed_providers AS "allowedProviders",
      allowed_return_to AS "allowedReturnTo", key_hash AS "keyHash", previous_key_expires_at AS "previousKeyExpiresAt"
    FROM api_clients
    WHERE revoked_at IS NULL
      AND (key_hash = $1 OR (previous_key_hash = $1 AND previous_key_expires_at > $2::timestamptz))
    LIMIT 1`,
}

/**
 * Looks up the caller of an API key. A looked-up key (found or not) is trusted for `apiKeyCacheTtlMs` of the injected
 * clock, which bounds how late another instance's revocation takes effect; when a busy caller's entry expires, its
 * requests in flight share one read instead of making one each. While the database is unavailable, a key found valid
 * shortly before the outage is still accepted for the outage's grace (see database-outage.ts), never past the end of a
 * rotation's grace; a known key since found revoked, or revoked by this process, is refused.
 */
export function createCallerService(deps: Pick<Deps, 'db' | 'now' | 'timing' | 'metrics'>, outage: DatabaseOutage) {
  const { db } = deps
  const ttlMs = deps.timing.apiKeyCacheTtlMs
  const cache = new Map<string, { caller: Caller | null; at: number; until: number }>()
  const reading = new Map<string, Promise<Caller | null>>()
  // by the hash of the key, as the cache: the key itself is never kept. A null caller: a known key found revoked since;
  // unknown keys are not kept, so that presenting random ones cannot push the known ones out.
  const lastKnown = new LastKnown<{ caller: Caller | null; until: number }>(outage, () => deps.now().getTime())

  async function read(apiKey: string, cacheKey: string): Promise<Caller | null> {
    const keyHash = hashApiKey(apiKey)
    const now = deps.now()
    let row: CallerRow | undefined
    try {
      ;[row] = await db.sql.rows<CallerRow>({ ...callerByKeyHash, values: [keyHash, now] })
    } catch (err) {
      return recall(cacheKey, err)
    }
    outage.reached()
    const caller = row ? toCaller(row) : null
    // a key kept by a rotation's grace period stops at its end, even while cached
    const until =
      row && !Buffer.from(row.keyHash).equals(keyHash) ? (row.previousKeyExpiresAt?.getTime() ?? 0) : Infinity
    if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string)
    cache.set(cacheKey, { caller, at: now.getTime(), until })
    if (caller || lastKnown.has(cacheKey)) lastKnown.confirm(cacheKey, { caller, until })
    return caller
  }

  /** The database is unavailable: what a key was found to be before the outage, while the outage rules admit it. */
  function recall(cacheKey: string, err: unknown): Caller | null {
    const known = isDatabaseUnavailable(err) ? lastKnown.recall(cacheKey) : undefined
    if (!known) throw err
    if (!known.caller || deps.now().getTime() >= known.until) return null
    deps.metrics.servedDuringOutage.inc({ what: 'api_key' })
    return known.caller
  }

  /**
   * The caller was changed, given a new key or revoked here: its keys are looked up again before they are trusted, and
   * a revoked caller's are refused during an outage.
   */
  function callerChanged(id: string, change: CallerChange): void {
    for (const [key, entry] of cache) if (entry.caller?.id === id) cache.delete(key)
    if (change === 'revoked') lastKnown.replaceWhere((known) => known.caller?.id === id, { caller: null, until: 0 })
    else lastKnown.forgetWhere((known) => known.caller?.id === id)
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
    callerChanged,
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
