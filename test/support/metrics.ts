// Reads /metrics into a map from series (`name{label="value",...}` as printed) to value.
import type { FastifyInstance } from 'fastify'

export interface Scrape {
  contentType: string | undefined
  text: string
  series: Map<string, number>
  /** The value of one series, 0 when it is absent (a counter that never moved). */
  value(series: string): number
}

export async function scrape(app: FastifyInstance): Promise<Scrape> {
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`)
  const series = new Map<string, number>()
  for (const line of res.body.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const at = line.lastIndexOf(' ')
    series.set(line.slice(0, at), Number(line.slice(at + 1)))
  }
  return {
    contentType: res.headers['content-type'] as string | undefined,
    text: res.body,
    series,
    value: (name) => series.get(name) ?? 0,
  }
}
