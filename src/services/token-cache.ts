import type { Secret } from '../crypto/secret.js'
import type { ConnectionKey } from '../db/connections/index.js'
import { storeNewest } from './newest-entries.js'

export interface CachedToken {
  connectionId: string
  namespace: string
  providerId: string
  userId: string
  accessToken: Secret
  tokenType: string
  scope: string | null
  metadata: Record<string, string>
  expiresAt: Date
  lifetimeSeconds: number | null
  providerMarginSeconds: number | null
}

export interface TokenCacheOptions {
  /** How long an entry is trusted without reading the database: bounds how late another instance's delete shows. */
  ttlMs: number
  now: () => number
}

const MAX_ENTRIES = 10_000

/**
 * Decrypted access tokens of active connections for a few seconds, so a hot caller does not need the database.
 * Bounded: the oldest entry goes first when full, and entries past their time go as new ones come. Changes made in
 * this process forget the entry at once; changes made by other instances show after at most `ttlMs`.
 */
export class TokenCache {
  readonly #entries = new Map<string, { token: CachedToken; storedAt: number }>()
  readonly #ttlMs: number
  readonly #now: () => number

  constructor({ ttlMs, now }: TokenCacheOptions) {
    this.#ttlMs = ttlMs
    this.#now = now
  }

  get(connection: ConnectionKey): CachedToken | undefined {
    const key = keyOf(connection)
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    const age = this.#now() - entry.storedAt
    if (age >= this.#ttlMs || age < 0) {
      this.#entries.delete(key)
      return undefined
    }
    return entry.token
  }

  /** Stores `token`; entries past their time go (the oldest come first), so a decrypted token does not outstay it. */
  set(token: CachedToken): void {
    if (this.#ttlMs <= 0) return
    const key = keyOf(token)
    const storedAt = this.#now()
    const stale = (entry: { storedAt: number }) => storedAt - entry.storedAt >= this.#ttlMs
    storeNewest(this.#entries, key, { token, storedAt }, MAX_ENTRIES, stale)
  }

  forget(connection: ConnectionKey): void {
    this.#entries.delete(keyOf(connection))
  }

  clear(): void {
    this.#entries.clear()
  }

  get size(): number {
    return this.#entries.size
  }
}

/** One string per connection key: namespace, provider and user, none of which may hold a NUL. */
export const keyOf = ({ namespace, providerId, userId }: ConnectionKey) =>
  `${namespace}\u0000${providerId}\u0000${userId}`
