import type { Db } from '../client.js'
import { isDatabaseUnavailable } from '../errors.js'
import type { Connection } from '../generated/client.js'
import { storeRefreshed, type RefreshedWrite } from './writes.js'

/** Refreshes stored by one statement at most. */
export const MAX_STORE_BATCH = 64

/** Statements of stored refreshes in flight at once; what arrives meanwhile waits and goes in the next. */
const MAX_IN_FLIGHT = 2

interface Pending {
  write: RefreshedWrite
  resolve(connection: Connection | null): void
  reject(err: unknown): void
}

export type RefreshWriter = ReturnType<typeof createRefreshWriter>

/**
 * Stores the outcomes of successful refreshes, several in one statement when they finish close together (group
 * commit). Under load most of a refresh's cost to the broker was the round trip of its store (the socket write
 * alone was a quarter of its CPU in the benchmark's profile). A store alone waits one turn of the event loop, no
 * more; while MAX_IN_FLIGHT statements are running, the outcomes that arrive wait for one of them to end and go
 * together. A statement the database refuses is followed by one per outcome, so that one outcome it refuses fails
 * alone and the others are stored: each caller gets its own row, its own null (lease taken over) or its own error,
 * as with one statement each. When the database cannot be reached, every outcome of the batch gets that error.
 */
export function createRefreshWriter(db: Db) {
  const queue: Pending[] = []
  let running = 0
  let scheduled = false

  function schedule(): void {
    if (scheduled || running >= MAX_IN_FLIGHT || queue.length === 0) return
    scheduled = true
    setImmediate(flush)
  }

  function flush(): void {
    scheduled = false
    while (running < MAX_IN_FLIGHT && queue.length > 0) {
      const batch = queue.splice(0, MAX_STORE_BATCH)
      running += 1
      void write(batch).finally(() => {
        running -= 1
        schedule()
      })
    }
  }

  async function write(batch: Pending[]): Promise<void> {
    try {
      const saved = await storeRefreshed(
        db,
        batch.map((pending) => pending.write),
      )
      batch.forEach((pending, i) => pending.resolve(saved[i] ?? null))
    } catch (err) {
      // a database that cannot be reached refuses every outcome alike: each caller waits and retries (its store
      // comes back here); only an error about the data is worth a statement per outcome
      if (batch.length === 1 || isDatabaseUnavailable(err)) {
        for (const pending of batch) pending.reject(err)
      } else {
        await Promise.all(batch.map((pending) => write([pending])))
      }
    }
  }

  return {
    /** Stores one refresh's outcome: the stored row, or null when its lease was taken over. */
    store(write: RefreshedWrite): Promise<Connection | null> {
      return new Promise((resolve, reject) => {
        queue.push({ write, resolve, reject })
        schedule()
      })
    },
  }
}
