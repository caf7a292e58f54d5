// HTTP load with autocannon, reduced to the figures the report shows. Any non-2xx answer, socket error or timeout
// makes the scenario fail: the harness measures a working service or nothing.
import autocannon, { type Options, type Request } from 'autocannon'

export interface LoadFigures {
  requests: number
  seconds: number
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  /** CPU time the process under test used per request (user + system), in microseconds, when measured. */
  cpuUs?: number
}

export class ScenarioError extends Error {}

/** Runs one load; a warm-up may end before any request completes (a slow start is what it is for). */
export async function runLoad(name: string, options: Options, { warmUp = false } = {}): Promise<LoadFigures> {
  const result = await autocannon({ timeout: 30, ...options })
  const statuses = Object.entries(result.statusCodeStats)
    .map(([status, { count }]) => `${status}×${count}`)
    .join(', ')
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new ScenarioError(
      `${name}: ${result.non2xx} non-2xx (${statuses}), ${result.errors} errors, ${result.timeouts} timeouts`,
    )
  }
  const requests = result.requests.total
  if (requests === 0 && !warmUp) throw new ScenarioError(`${name}: no request completed`)
  return {
    requests,
    seconds: result.duration,
    rps: requests / result.duration,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
  }
}

/** A request that asks for a different path each time, in order, wrapping around at the end of the list. */
export function rotatingPaths(paths: readonly string[], headers: Record<string, string>): Request {
  let next = 0
  return {
    method: 'GET',
    headers,
    setupRequest: (request) => {
      const path = paths[next % paths.length] as string
      next += 1
      return { ...request, path }
    },
  }
}

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
