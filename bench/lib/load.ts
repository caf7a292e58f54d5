// Closed-loop HTTP load: `connections` keep-alive connections, each sending its next request as soon as the previous
// answer is read, for a duration or a number of requests. Latencies are timed per request in microseconds. Any
// non-2xx answer or socket error makes the scenario fail: the harness measures a working service or nothing.
import { Pool } from 'undici'

export interface LoadFigures {
  requests: number
  seconds: number
  rps: number
  /** Latencies in milliseconds, to the microsecond. */
  p50: number
  p90: number
  p99: number
  max: number
  /** CPU time the process under test used per request (user + system), in microseconds, when measured. */
  cpuUs?: number
}

export interface LoadOptions {
  /** scheme://host:port of the server. */
  origin: string
  connections: number
  /** Stop after this many requests, or once `durationS` has passed (whichever is given). */
  amount?: number
  durationS?: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** The path of the i-th request. */
  path: (i: number) => string
}

export class ScenarioError extends Error {}

/** Runs one load; a warm-up may end before any request completes (a slow start is what it is for). */
export async function runLoad(name: string, options: LoadOptions, { warmUp = false } = {}): Promise<LoadFigures> {
  const pool = new Pool(options.origin, { connections: options.connections, pipelining: 1, headersTimeout: 30_000 })
  const latencies: number[] = []
  const failures = new Map<string, number>()
  const started = performance.now()
  const until = options.durationS === undefined ? Infinity : started + options.durationS * 1000
  let next = 0
  const connection = async () => {
    for (;;) {
      const i = next++
      if ((options.amount !== undefined && i >= options.amount) || performance.now() >= until) return
      const from = performance.now()
      try {
        const answer = await pool.request({
          method: options.method ?? 'GET',
          path: options.path(i),
          headers: options.headers ?? {},
          ...(options.body === undefined ? {} : { body: options.body }),
        })
        await answer.body.dump()
        if (answer.statusCode >= 300)
          failures.set(`HTTP ${answer.statusCode}`, (failures.get(`HTTP ${answer.statusCode}`) ?? 0) + 1)
        else latencies.push(performance.now() - from)
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err)
        failures.set(reason, (failures.get(reason) ?? 0) + 1)
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: options.connections }, connection))
  } finally {
    await pool.close()
  }
  const seconds = (performance.now() - started) / 1000
  if (failures.size > 0) {
    const list = [...failures].map(([reason, count]) => `${reason}×${count}`).join(', ')
    throw new ScenarioError(`${name}: ${list}`)
  }
  if (latencies.length === 0 && !warmUp) throw new ScenarioError(`${name}: no request completed`)
  return { requests: latencies.length, seconds, rps: latencies.length / seconds, ...percentiles(latencies) }
}

/** The value at quantile `q` (0 to 1) of values sorted in ascending order, by nearest rank; NaN when there are none. */
export const quantileOf = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN

/** p50, p90, p99 and max of latencies in milliseconds, kept to the microsecond. */
export function percentiles(latencies: number[]): Pick<LoadFigures, 'p50' | 'p90' | 'p99' | 'max'> {
  const sorted = [...latencies].sort((a, b) => a - b)
  const at = (q: number) => quantileOf(sorted, q)
  const us = (value: number) => Math.round(value * 1000) / 1000
  return { p50: us(at(0.5)), p90: us(at(0.9)), p99: us(at(0.99)), max: us(sorted.at(-1) ?? NaN) }
}

/** The i-th of `paths`, wrapping around at the end of the list. */
export const rotating = (paths: readonly string[]) => (i: number) => paths[i % paths.length] as string
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
