// Open-loop load: requests start at a fixed rate whether or not earlier ones have answered, so a slow or hung
// service shows up as latency and timeouts instead of silently lowering the load.
import { setTimeout as sleep } from 'node:timers/promises'

export interface Sample {
  /** ms since the load started */
  at: number
  /** wall clock when the request started */
  startedAt: number
  latencyMs: number
  /** HTTP status, or 0 when no answer came (refused, reset, timeout) */
  status: number
  /** the `error` field of a JSON error body, or the failure's name */
  error?: string
  label: string
}

export interface LoadOptions {
  /** requests per second */
  rate: number
  /** builds the next request */
  next(): { label: string; url: string; init?: RequestInit }
  /** a request that takes longer is aborted and counted as a timeout */
  timeoutMs?: number
  /** at most this many in flight; further starts are counted as `skipped` */
  maxInFlight?: number
}

export interface RunningLoad {
  readonly samples: Sample[]
  readonly skipped: number
  /** stops starting requests and waits for those in flight */
  stop(): Promise<Sample[]>
}

export function startLoad(options: LoadOptions): RunningLoad {
  const samples: Sample[] = []
  const inFlight = new Set<Promise<void>>()
  const intervalMs = 1000 / options.rate
  const timeoutMs = options.timeoutMs ?? 30_000
  const maxInFlight = options.maxInFlight ?? 500
  const begin = performance.now()
  let skipped = 0
  let stopped = false

  async function one(): Promise<void> {
    const { label, url, init } = options.next()
    const started = performance.now()
    const startedAt = Date.now()
    let status = 0
    let error: string | undefined
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) })
      status = res.status
      const text = await res.text()
      if (status >= 400) {
        try {
          error = (JSON.parse(text) as { error?: string }).error ?? 'no_error_field'
        } catch {
          error = 'not_json'
        }
      }
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection_failed'
    }
    samples.push({ at: started - begin, startedAt, latencyMs: performance.now() - started, status, error, label })
  }

  const loop = (async () => {
    let count = 0
    while (!stopped) {
      const due = begin + count * intervalMs
      const wait = due - performance.now()
      if (wait > 0) await sleep(wait)
      if (stopped) break
      count += 1
      if (inFlight.size >= maxInFlight) {
        skipped += 1
        continue
      }
      const request: Promise<void> = one().finally(() => inFlight.delete(request))
      inFlight.add(request)
    }
  })()

  return {
    samples,
    get skipped() {
      return skipped
    },
    async stop() {
      stopped = true
      await loop
      await Promise.allSettled([...inFlight])
      return samples
    },
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

export function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1
  return out
}

export const outcome = (sample: Sample) =>
  sample.status === 200 ? '200' : `${sample.status} ${sample.error ?? ''}`.trim()
