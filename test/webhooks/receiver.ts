// A webhook receiver on 127.0.0.1 for tests: records every request and answers from a script (default 204).
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  path: string
  headers: IncomingHttpHeaders
  body: string
  at: number
}

/** What the next requests get: a status, a status after a delay, or 'hang' (no answer until the receiver closes). */
export type Answer = number | { status: number; delayMs: number } | 'hang'

export interface Receiver {
  url: string
  received: Received[]
  /** Answers for the next requests, in order; afterwards 204 again. */
  answer(...answers: Answer[]): void
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

export async function startReceiver(path = '/hooks'): Promise<Receiver> {
  const received: Received[] = []
  const script: Answer[] = []
  const waiters = new Set<() => void>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      })
      for (const wake of waiters) wake()
      const answer = script.shift() ?? 204
      if (answer === 'hang') return
      const { status, delayMs } = typeof answer === 'number' ? { status: answer, delayMs: 0 } : answer
      const send = () => res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? '' : 'error')
      if (delayMs > 0) setTimeout(send, delayMs)
      else send()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}${path}`,
    received,
    answer: (...answers) => script.push(...answers),
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return
          cleanup()
          resolve(received.slice(0, count))
        }
        const timer = setTimeout(() => {
          cleanup()
          reject(new Error(`expected ${count} webhook requests, got ${received.length}`))
        }, timeoutMs)
        const cleanup = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
