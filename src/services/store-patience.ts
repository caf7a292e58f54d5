import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { isDatabaseUnavailable } from '../db/errors.js'

/** Attempts at a write that fails while the database answers (a conflict, a timeout). */
export const STORE_ATTEMPTS = 3
/** How long a write waits for a database it cannot reach (a restart, a failover). */
export const STORE_PATIENCE_MS = 5 * 60_000

/**
 * Runs a write that holds what exists nowhere else (a provider's answer with a rotated refresh token), retrying a
 * failing database: one it cannot reach is waited for up to STORE_PATIENCE_MS, other errors are retried
 * STORE_ATTEMPTS times. An error `final` says is final (a lease taken over, a refusal) is thrown at once.
 */
export async function storeWithPatience<T>(
  store: () => Promise<T>,
  { log, what, final }: { log: Pick<Logger, 'warn'>; what: string; final?: (err: unknown) => boolean },
): Promise<T> {
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      return await store()
    } catch (err) {
      if (final?.(err)) throw err
      const unavailable = isDatabaseUnavailable(err)
      if (unavailable ? Date.now() - started >= STORE_PATIENCE_MS : attempt >= STORE_ATTEMPTS) throw err
      if (!unavailable || attempt === 1 || attempt % 30 === 0) log.warn({ err, attempt }, `${what} failed; retrying`)
      await sleep(Math.min(200 * attempt, 1000))
    }
  }
}
