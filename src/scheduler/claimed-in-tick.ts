/** A finished connection, due again from `at` (ms since the epoch). */
interface Later {
  id: string
  at: number
}

/**
 * The connections one tick has claimed, for its claims' `exclude`: a connection is refreshed at most once per tick.
 * Those in flight are excluded, and so is each finished one from the time its stored `nextRefreshAt` passes (it could
 * be claimed again then). Finished ones wait in a heap by that time, so a claim costs what is excluded, not what the
 * tick has refreshed so far: with a backlog of thousands, walking them all at every claim was quadratic in the tick.
 */
export class ClaimedInTick {
  readonly #inFlight = new Set<string>()
  /** Finished, and due again since: excluded for the rest of the tick. */
  readonly #dueAgain = new Set<string>()
  /** Finished, due again from `at`: a binary min-heap by `at`. */
  readonly #later: Later[] = []

  claimed(id: string): void {
    this.#inFlight.add(id)
  }

  /**
   * The refresh of `id` ended; it may be due again from `dueFrom` (ms since the epoch; -Infinity: at once, as when
   * nothing was stored; Infinity: never, as without a next refresh).
   */
  finished(id: string, dueFrom: number): void {
    this.#inFlight.delete(id)
    if (dueFrom === Infinity) return
    if (dueFrom === -Infinity) this.#dueAgain.add(id)
    else this.#push({ id, at: dueFrom })
  }

  /** The ids a claim made at `now` must leave out. */
  exclude(now: number): string[] {
    while (this.#later.length > 0 && (this.#later[0] as Later).at <= now) {
      this.#dueAgain.add(this.#pop().id)
    }
    return [...this.#inFlight, ...this.#dueAgain]
  }

  #push(entry: Later): void {
    const heap = this.#later
    heap.push(entry)
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1
      if (this.#at(parent) <= entry.at) break
      heap[i] = heap[parent] as Later
      heap[parent] = entry
      i = parent
    }
  }

  #pop(): Later {
    const heap = this.#later
    const top = heap[0] as Later
    const last = heap.pop() as Later
    if (heap.length === 0) return top
    heap[0] = last
    for (let i = 0; ;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < heap.length && this.#at(left) < this.#at(smallest)) smallest = left
      if (right < heap.length && this.#at(right) < this.#at(smallest)) smallest = right
      if (smallest === i) break
      heap[i] = heap[smallest] as Later
      heap[smallest] = last
      i = smallest
    }
    return top
  }

  #at(index: number): number {
    return (this.#later[index] as Later).at
  }
}
