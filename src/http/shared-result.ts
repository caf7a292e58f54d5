/**
 * `compute` run at most once per `maxAgeMs`: calls within that time get the last result, and calls while it runs share
 * it. For what anyone may ask for without credentials (/metrics, /readyz): a flood of them costs the database one query
 * per period, not one per request. A failure is not kept, so the next call tries again.
 */
export function sharedFor<T>(maxAgeMs: number, compute: () => Promise<T>, now: () => number) {
  let last: { at: number; value: Promise<T> } | undefined
  return (): Promise<T> => {
    if (last && now() - last.at < maxAgeMs) return last.value
    const value = compute()
    const entry = { at: now(), value }
    last = entry
    value.catch(() => {
      if (last === entry) last = undefined
    })
    return value
  }
}
