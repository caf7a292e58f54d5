// A Map used as a bounded store of timed entries: each entry is stored as the newest (the Map's last), so the oldest
// come first, and the stale or surplus ones are dropped from the front as new ones arrive, with no timer.

/**
 * Stores `entry` under `key` as the newest of `entries`. First the oldest go, for as long as they are `stale` or the
 * store holds `max`: a store of entries in the order they were stored stops at the first fresh one.
 */
export function storeNewest<E>(
  entries: Map<string, E>,
  key: string,
  entry: E,
  max: number,
  stale: (entry: E) => boolean,
) {
  entries.delete(key)
  for (const [oldest, held] of entries) {
    if (!stale(held) && entries.size < max) break
    entries.delete(oldest)
  }
  entries.set(key, entry)
}
