// Bodies over the 64 KiB limit get 413 payload_too_large on every operation of openapi.yaml (once the caller is
// authenticated: credentials are checked before a body is read), whether announced by Content-Length or streamed;
// malformed HTTP is answered by the server without taking it down.
import { connect } from 'node:net'
import t from 'tap'
import { BULK_BODY_LIMIT_BYTES } from '../../src/services/bulk-import.js'
import { ADMIN_TOKEN, build } from '../helper.js'

import { createCaller, createProvider } from '../support/fixtures.js'
import { loadOperations } from './support/operations.js'

const { app } = await build(t, { background: false })
await createProvider(app, { id: 'idp' })
const caller = await createCaller(app, { allowedProviders: ['idp'] })
const credentials = { admin: { authorization: `Bearer ${ADMIN_TOKEN}` }, caller: caller.headers }
const big = JSON.stringify({ provider: 'idp', userId: 'u', padding: 'x'.repeat(70 * 1024) })
const operations = await loadOperations()

const concrete = (path: string) => path.replace(/\{[^}]+\}/g, 'idp')

t.test('every operation that takes a body: 413 payload_too_large for a body over the limit', async (t) => {
  t.ok(operations.filter((op) => op.method !== 'GET').length >= 15, 'the document lists the operations')
  for (const [index, op] of operations.filter((op) => op.method !== 'GET').entries()) {
    const scheme = op.security[0] as 'admin' | 'caller' | undefined
    // the bulk import takes NDJSON up to its own, larger limit
    const bulk = op.path === '/admin/connections/import/bulk'
    const headers = {
      'content-type': bulk ? 'application/x-ndjson' : 'application/json',
      ...(scheme ? credentials[scheme] : {}),
    }
    const payload = bulk ? `${big}\n`.repeat(Math.ceil(BULK_BODY_LIMIT_BYTES / big.length) + 1) : big
    const res = await app.inject({ method: op.method as 'POST', url: concrete(op.path), headers, payload })
    t.same([res.statusCode, res.json().error], [413, 'payload_too_large'], `${op.method} ${op.path}`)
    if (scheme) {
      const anonymous = await app.inject({
        method: op.method as 'POST',
        url: concrete(op.path),
        headers: { 'content-type': 'application/json' },
        payload: big,
        // an address of its own: past 20 failures from one address, failing attempts get 429
        remoteAddress: `10.9.${index >> 8}.${index & 255}`,
      })
      t.equal(anonymous.statusCode, 401, `${op.method} ${op.path} without credentials: refused before the body`)
    }
  }
})

t.test('over a socket: a streamed body, an oversized header block, a malformed request line', async (t) => {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const raw = (request: string | Buffer[]) =>
    new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      const chunks: Buffer[] = []
      socket.on('data', (chunk) => chunks.push(chunk))
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
      socket.on('error', () => resolve(Buffer.concat(chunks).toString('latin1')))
      socket.setTimeout(10_000, () => socket.destroy())
      if (typeof request === 'string') socket.end(request)
      else {
        for (const part of request) socket.write(part)
        socket.end()
      }
    })
  const chunk = Buffer.from('x'.repeat(16 * 1024))
  const streamed = await raw([
    Buffer.from(
      'POST /authorizations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: ${caller.headers.authorization}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
    ),
    ...Array.from({ length: 6 }, () =>
      Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]),
    ),
    Buffer.from('0\r\n\r\n'),
  ])
  t.match(streamed, /^HTTP\/1\.1 413 /, 'a chunked body without Content-Length')
  t.match(streamed, /"error":"payload_too_large"/)

  const headers = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  t.match(headers, /^HTTP\/1\.1 431 /, 'a header block over 16 KiB')
  t.match(headers, /"error":"[^"]+","message":"[^"]+"/)

  for (const request of [
    'GARBAGE\r\n\r\n',
    'GET /healthz HTTP/9.9\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
  ]) {
    const answer = await raw(request)
    t.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(request))
  }
  const res = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(res.status, 200, 'still serving')
})

t.test('a GET with a body over the limit: the body is not read', async (t) => {
  t.ok(operations.filter((op) => op.method === 'GET').length >= 10, 'the document lists the operations')
  for (const op of operations.filter((op) => op.method === 'GET')) {
    const scheme = op.security[0] as 'admin' | 'caller' | undefined
    const headers = { 'content-type': 'application/json', ...(scheme ? credentials[scheme] : {}) }
    const res = await app.inject({ method: 'GET', url: concrete(op.path), headers, payload: big })
    t.ok(res.statusCode < 500, `${op.path}: ${res.statusCode}`)
  }
})
