import type { Db } from '../client.js'
import { isDatabaseUnavailable } from '../errors.js'
import type { Connection } from '../generated/client.js'
import { storeRefreshed, type RefreshedWrite } from './writes.js'

/** Refreshes stored by one statement at most. */
export const MAX_STORE_BATCH = 64

/** Statements of stored refreshes in flight at once; what arrives meanwhile waits and goes in the next. */
const MAX_IN_FLIGHT = 2

/**
 * How long a store that nobody waits for (a scheduled refresh's) may wait for others to go with it. A provider at its
 * capacity answers one refresh after another, a millisecond or so apart: stored at the next turn, each took a
 * statement of its own.
 */
export const GATHER_MS = 10
/** Outcomes that, once queued, go without waiting longer: a statement of this many costs each little. */
export const GATHER_COUNT = 16

interface Pending {
  write: RefreshedWrite
  urgent: boolean
  /** performance.now() when it was queued. */
  at: number
  resolve(connection: Connection | null): void
  reject(err: unknown): void
}

export type RefreshWriter = ReturnType<typeof createRefreshWriter>

/**
 * Stores the outcomes of successful refreshes, several in one statement when they finish close together (group
 * commit). Under load most of a refresh's cost to the broker was the round trip of its store (the socket write
 * alone was a quarter of its CPU in the benchmark's profile). A store a caller waits for waits one turn of the event
 * loop, no more, and takes whatever is queued with it; a scheduled refresh's store may wait up to GATHER_MS for
 * others, until GATHER_COUNT are queued or every refresh `inFlight` counts has its outcome here. While MAX_IN_FLIGHT
 * statements are running, the outcomes that arrive wait for one of them to end and go together. A statement the
 * database refuses is followed by one per outcome, so that one outcome it refuses fails alone and the others are
 * stored: each caller gets its own row, its own null (lease taken over) or its own error, as with one statement each.
 * When the database cannot be reached, every outcome of the batch gets that error.
 */
export function createRefreshWriter(db: Db, { inFlight }: { inFlight?: () => number } = {}) {
  const queue: Pending[] = []
  let urgentQueued = 0
  let running = 0
  /** Outcomes in the statements running. */
  let writing = 0
  let immediate: NodeJS.Immediate | undefined
  let timer: NodeJS.Timeout | undefined

  function schedule(): void {
    if (running >= MAX_IN_FLIGHT || immediate || queue.length === 0) return
    const first = queue[0] as Pending
    // every refresh in flight has its outcome here: none other is coming to share the statement
    const nobodyElse = inFlight !== undefined && inFlight() <= queue.length + writing
    const wait =
      urgentQueued > 0 || nobodyElse || queue.length >= GATHER_COUNT ? 0 : first.at + GATHER_MS - performance.now()
    if (wait > 0) {
      timer ??= setTimeout(flush, wait)
      return
    }
    clearTimeout(timer)
    timer = undefined
    immediate = setImmediate(flush)
  }

  function flush(): void {
    clearTimeout(timer)
    timer = undefined
    immediate = undefined
    while (running < MAX_IN_FLIGHT && queue.length > 0) {
      const batch = queue.splice(0, MAX_STORE_BATCH)
      for (const pending of batch) if (pending.urgent) urgentQueued -= 1
      running += 1
      writing += batch.length
      void write(batch).finally(() => {
        running -= 1
        writing -= batch.length
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
    /**
     * Stores one refresh's outcome: the stored row, or null when its lease was taken over. `gather`: nobody waits for
     * it, so it may wait up to GATHER_MS for other outcomes to share its statement.
     */
    store(write: RefreshedWrite, { gather = false }: { gather?: boolean } = {}): Promise<Connection | null> {
      return new Promise((resolve, reject) => {
        queue.push({ write, urgent: !gather, at: performance.now(), resolve, reject })
        if (!gather) urgentQueued += 1
        schedule()
      })
    },
  }
}
