// Clients that hold sockets: a body trickled byte by byte is cut off after REQUEST_TIMEOUT_SECONDS, an answer given
// before the body was read (401, 413) closes the connection at once, and a client that aborts its upload is logged
// as what it is, not as a database outage answered 503.
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'

const { app, logs } = await build(t, { background: false, config: { REQUEST_TIMEOUT_SECONDS: 1 } })
await app.listen({ port: 0, host: '127.0.0.1' })
const { port } = app.server.address() as { port: number }

interface Open {
  socket: Socket
  /** Everything the server sent, once it closed or ended the connection; `seconds` after the socket opened. */
  closed: Promise<{ text: string; seconds: number }>
}

function open(head: string): Open {
  const socket = connect(port, '127.0.0.1')
  const started = Date.now()
  const chunks: Buffer[] = []
  socket.on('data', (chunk) => chunks.push(chunk))
  const closed = new Promise<{ text: string; seconds: number }>((resolve) => {
    const done = () =>
      resolve({ text: Buffer.concat(chunks).toString('latin1'), seconds: (Date.now() - started) / 1000 })
    socket.on('end', done)
    socket.on('close', done)
    socket.on('error', done)
  })
  socket.write(head)
  return { socket, closed }
}

const post = (path: string, length: number, authorization?: string) =>
  `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n` +
  (authorization ? `Authorization: ${authorization}\r\n` : '') +
  '\r\n'

/** Writes one byte every `everyMs` until the server closes the socket or `maxSeconds` pass. */
async function trickle(open: Open, everyMs: number, maxSeconds: number): Promise<void> {
  const until = Date.now() + maxSeconds * 1000
  while (!open.socket.destroyed && !open.socket.writableEnded && Date.now() < until) {
    if (open.socket.readableEnded) return
    open.socket.write(' ')
    await sleep(everyMs)
  }
}

t.test('a body trickled by an authenticated client is cut off after the request timeout', async (t) => {
  const slow = open(post('/admin/clients', 10_000, `Bearer ${ADMIN_TOKEN}`))
  void trickle(slow, 100, 8)
  const { seconds } = await Promise.race([slow.closed, sleep(6_000).then(() => ({ text: '', seconds: Infinity }))])
  slow.socket.destroy()
  t.ok(seconds < 4, `the socket is closed after ${seconds} s (timeout 1 s, checked every 250 ms)`)
  t.notMatch(logs.text, /database unavailable/, 'not taken for a database outage')
})

t.test('a 401 before the body closes the connection instead of reading the rest', async (t) => {
  const anonymous = open(post('/admin/clients', 10_000))
  void trickle(anonymous, 100, 8)
  const { text, seconds } = await Promise.race([
    anonymous.closed,
    sleep(6_000).then(() => ({ text: '', seconds: Infinity })),
  ])
  anonymous.socket.destroy()
  t.match(text, /^HTTP\/1\.1 401 /)
  t.match(text, /\r\nconnection: close\r\n/i)
  t.ok(seconds < 0.9, `closed after ${seconds} s, before the request timeout`)
})

t.test('a 413 announced by Content-Length closes the connection too', async (t) => {
  const big = open(post('/admin/clients', 1_000_000, `Bearer ${ADMIN_TOKEN}`))
  void trickle(big, 100, 8)
  const { text, seconds } = await Promise.race([big.closed, sleep(6_000).then(() => ({ text: '', seconds: Infinity }))])
  big.socket.destroy()
  t.match(text, /^HTTP\/1\.1 413 /)
  t.match(text, /\r\nconnection: close\r\n/i)
  t.ok(seconds < 0.9, `closed after ${seconds} s`)
})

t.test('a complete request keeps its connection alive', async (t) => {
  const body = JSON.stringify({ name: 'kept', allowedProviders: [], allowedReturnTo: [] })
  const kept = open(post('/admin/clients', Buffer.byteLength(body), `Bearer ${ADMIN_TOKEN}`) + body)
  const answer = await new Promise<string>((resolve) => kept.socket.once('data', (chunk) => resolve(String(chunk))))
  await sleep(300)
  t.match(answer, /^HTTP\/1\.1 201 /)
  t.notMatch(answer, /connection: close/i)
  t.notOk(kept.socket.readableEnded, 'the server has not closed it')
  kept.socket.destroy()
})

t.test('a client that aborts its upload is not a database outage', async (t) => {
  const before = logs.lines.length
  const aborting = open(post('/admin/clients', 10_000, `Bearer ${ADMIN_TOKEN}`) + '{"name":')
  await sleep(200)
  aborting.socket.resetAndDestroy()
  await aborting.closed
  await sleep(300)
  const lines = logs.lines.slice(before).join('\n')
  t.notMatch(lines, /database unavailable/)
  t.notMatch(lines, /"statusCode":503/)
  t.match(lines, /client closed the connection before its request was complete/)
  t.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200, 'the server goes on')
})
