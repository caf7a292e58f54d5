// Open-loop load at a fixed rate: request i is due at start + i / rate, whatever happened to the ones before, and its
// latency counts from that moment (so a stall in the server or in this process shows instead of hiding). autocannon's
// own pacing releases each connection's share of a second as one burst, which measures the queue of that burst.
import { setTimeout as sleep } from 'node:timers/promises'
import { Pool } from 'undici'
import { percentiles, ScenarioError, type LoadFigures } from './load.js'

export interface PacedOptions {
  url: string
  headers?: Record<string, string>
  connections: number
  /** Requests per second over all connections. */
  rate: number
  durationS: number
}

export async function runPaced(name: string, options: PacedOptions): Promise<LoadFigures> {
  const url = new URL(options.url)
  const pool = new Pool(url.origin, { connections: options.connections, pipelining: 1 })
  const path = url.pathname + url.search
  const total = Math.round(options.rate * options.durationS)
  const interval = 1000 / options.rate
  const latencies: number[] = []
  const failures: string[] = []
  const inFlight = new Set<Promise<void>>()
  const started = performance.now()
  try {
    for (let i = 0; i < total; i++) {
      const due = started + i * interval
      const wait = due - performance.now()
      if (wait > 1) await sleep(wait)
      // counted from its slot, or from the send when it left up to a millisecond early (timers are coarser)
      const from = Math.min(due, performance.now())
      const request = pool
        .request({ method: 'GET', path, headers: options.headers ?? {} })
        .then(async (answer) => {
          await answer.body.dump()
          if (answer.statusCode >= 300) failures.push(String(answer.statusCode))
          latencies.push(performance.now() - from)
        })
        .catch((err: unknown) => {
          failures.push(err instanceof Error ? err.message : String(err))
        })
      const tracked: Promise<void> = request.finally(() => inFlight.delete(tracked))
      inFlight.add(tracked)
    }
    await Promise.all(inFlight)
  } finally {
    await pool.close()
  }
  const seconds = (performance.now() - started) / 1000
  if (failures.length > 0)
    throw new ScenarioError(`${name}: ${failures.length} failed (${failures.slice(0, 3).join(', ')})`)
  return { requests: latencies.length, seconds, rps: latencies.length / seconds, ...percentiles(latencies) }
}
