import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { dialectOf, withDialect } from '../../src/providers/dialect.js'
import { createProviderFetch, createProviderHttp } from '../../src/providers/http.js'
import type { Template } from '../../src/schemas/template.js'

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void

async function serve(t: Test, handler: Handler): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handler(req, Buffer.concat(chunks).toString('utf8'), res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('sends what fetch sends and answers a standard Response', async (t) => {
  let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {}
  const base = await serve(t, (req, body, res) => {
    seen = { method: req.method, headers: req.headers, body }
    res.setHeader('content-type', 'application/json')
    res.setHeader('set-cookie', ['a=1', 'b=2'])
    res.setHeader('cache-control', 'no-store')
    res.end(JSON.stringify({ access_token: 'x', token_type: 'Bearer' }))
  })
  const fetch = createProviderFetch()
  const response = await fetch(`${base}/token`, {
    method: 'POST',
    headers: new Headers({ authorization: 'Basic abc', accept: 'application/json' }),
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'r t+/' }),
    redirect: 'manual',
  })
  t.ok(response instanceof Response, 'a Response, as openid-client requires')
  t.equal(response.status, 200)
  t.same(await response.json(), { access_token: 'x', token_type: 'Bearer' })
  t.equal(response.headers.get('cache-control'), 'no-store')
  t.same(response.headers.getSetCookie(), ['a=1', 'b=2'], 'repeated headers kept')
  t.equal(seen.method, 'POST')
  t.equal(seen.headers?.authorization, 'Basic abc')
  t.equal(seen.headers?.['content-type'], 'application/x-www-form-urlencoded;charset=UTF-8', 'form type set')
  t.same(Object.fromEntries(new URLSearchParams(seen.body)), { grant_type: 'refresh_token', refresh_token: 'r t+/' })

  const get = await fetch(`${base}/.well-known/openid-configuration`, { headers: { accept: 'application/json' } })
  t.equal(get.status, 200)
  t.equal(seen.method, 'GET')
  t.equal(seen.body, '', 'no body on a GET')
})

t.test('never follows a redirect, keeps error statuses and empty bodies', async (t) => {
  const base = await serve(t, (req, _body, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/elsewhere' }).end()
    } else if (req.url === '/empty') {
      res.writeHead(204).end()
    } else {
      res.writeHead(503, { 'retry-after': '7', 'content-type': 'text/html' }).end('<html>down</html>')
    }
  })
  const fetch = createProviderFetch()
  const moved = await fetch(`${base}/moved`, { method: 'POST', body: 'x', redirect: 'manual' })
  t.equal(moved.status, 302)
  t.equal(moved.headers.get('location'), '/elsewhere')
  const empty = await fetch(`${base}/empty`, {})
  t.equal(empty.status, 204)
  t.equal(empty.body, null)
  const down = await fetch(`${base}/down`, {})
  t.equal(down.status, 503)
  t.equal(down.headers.get('retry-after'), '7')
  t.equal(await down.text(), '<html>down</html>')
})

t.test('fails like fetch: unreachable, too large, timed out', async (t) => {
  const base = await serve(t, (req, _body, res) => {
    if (req.url === '/huge') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('x'.repeat(4096))
    }
    // /slow never answers
  })
  const fetch = createProviderFetch({ maxResponseBytes: 1024 })

  // port 1 on loopback: nothing listens there
  await t.rejects(fetch(`http://127.0.0.1:1/token`, { method: 'POST', body: 'x' }), {
    name: 'TypeError',
    message: 'fetch failed',
  })

  await t.rejects(fetch(`${base}/huge`, {}), { name: 'TypeError', message: 'fetch failed' }, 'over the limit')

  const started = Date.now()
  await t.rejects(fetch(`${base}/slow`, { signal: AbortSignal.timeout(200) }), { name: 'TimeoutError' })
  t.ok(Date.now() - started < 5_000, 'the signal ends it')
})

t.test("a dialect's token answers through `answer` are rewritten into one standard Response", async (t) => {
  const base = await serve(t, (req, _body, res) => {
    if (req.url === '/form') {
      // GitHub's way: form-encoded, scopes joined by commas
      res.setHeader('content-type', 'application/x-www-form-urlencoded; charset=utf-8')
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.setHeader('retry-after', '3')
      res.end('access_token=at-1&scope=repo%2Cuser&token_type=bearer')
    } else if (req.url === '/error-in-200') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ error: 'bad_verification_code', error_description: 'expired' }))
    } else if (req.url === '/empty') {
      res.writeHead(204).end()
    } else {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<html>bad gateway</html>')
    }
  })
  const http = createProviderHttp()
  const fetch = withDialect(http, dialectOf({ grantedScopeSeparator: ',' } as Template))
  const post = (path: string) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'c' }),
    })

  const form = await post('/form')
  t.ok(form instanceof Response)
  t.equal(form.status, 200)
  t.equal(form.headers.get('content-type'), 'application/json', 'now JSON')
  t.same(await form.json(), { access_token: 'at-1', scope: 'repo user', token_type: 'bearer' })
  t.same(form.headers.getSetCookie(), ['a=1', 'b=2'], "the provider's other headers kept")
  t.equal(form.headers.get('retry-after'), '3')

  const error = await post('/error-in-200')
  t.equal(error.status, 400, 'an error in a 200 is an error')
  t.equal(((await error.json()) as { error: string }).error, 'bad_verification_code')

  const empty = await post('/empty')
  t.equal(empty.status, 204)
  t.equal(empty.body, null)

  const html = await post('/other')
  t.equal(html.status, 502, 'what is not a token answer passes as it came')
  t.equal(await html.text(), '<html>bad gateway</html>')
  t.equal(html.headers.get('content-type'), 'text/html')
})
