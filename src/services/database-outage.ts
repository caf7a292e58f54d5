// What a database outage lets the broker answer without the database: answers it read from the database shortly
// before the outage began, for a bounded time into it.
import type { Logger } from 'pino'
import { storeNewest } from './newest-entries.js'

export interface OutageRules {
  /** How long into an outage answers read before it are still given (0: never). */
  graceMs: number
  /** How recently before the outage an answer must have been read from the database to be given during it. */
  windowMs: number
}

export const RECALL_WINDOW_MS = 60_000

/**
 * When the current outage began, as this process sees it: from the first read that found the database unavailable
 * to the next read that reached it.
 */
export class DatabaseOutage {
  #since: number | undefined

  constructor(
    readonly rules: OutageRules,
    private readonly now: () => number,
    private readonly log: Pick<Logger, 'warn' | 'info'>,
  ) {}

  /** A read reached the database: an outage, if there was one, is over. */
  reached(): void {
    if (this.#since === undefined) return
    const seconds = Math.round((this.now() - this.#since) / 1000)
    this.log.info({ seconds }, 'database reachable again')
    this.#since = undefined
  }

  /** A read found the database unavailable: may an answer read from it at `readAt` be given instead? */
  admits(readAt: number): boolean {
    const now = this.now()
    if (this.#since === undefined) {
      this.#since = now
      const graceSeconds = this.rules.graceMs / 1000
      this.log.warn({ graceSeconds }, 'database unavailable: answering from what was read before, for a bounded time')
    }
    return now - this.#since <= this.rules.graceMs && readAt >= this.#since - this.rules.windowMs && readAt <= now
  }
}

/** The answers last read from the database, by key, for an outage: bounded in count, the least recently read go. */
export class LastKnown<V> {
  readonly #entries = new Map<string, { value: V; readAt: number }>()

  constructor(
    private readonly outage: DatabaseOutage,
    private readonly now: () => number,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The database answered `value` for `key` just now. Answers read longer ago than the window go (the oldest come
   * first): no outage can admit them any more, and a token should not stay in memory longer than it may be given.
   */
  confirm(key: string, value: V): void {
    if (this.outage.rules.graceMs <= 0) return
    const readAt = this.now()
    const cutoff = readAt - this.outage.rules.windowMs
    storeNewest(this.#entries, key, { value, readAt }, this.maxEntries, (entry) => entry.readAt < cutoff)
  }

  forget(key: string): void {
    this.#entries.delete(key)
  }

  has(key: string): boolean {
    return this.#entries.has(key)
  }

  forgetWhere(matches: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (matches(entry.value)) this.#entries.delete(key)
  }

  /** Replaces the matching values, keeping when each was read. */
  replaceWhere(matches: (value: V) => boolean, value: V): void {
    for (const entry of this.#entries.values()) if (matches(entry.value)) entry.value = value
  }

  /** Called when a read of `key` found the database unavailable: the last answer, if the outage rules admit it. */
  recall(key: string): V | undefined {
    const entry = this.#entries.get(key)
    const admitted = this.outage.admits(entry?.readAt ?? Number.NEGATIVE_INFINITY)
    return admitted ? entry?.value : undefined
  }

  get size(): number {
    return this.#entries.size
  }
}
