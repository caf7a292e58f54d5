import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ConfigError } from '../../src/errors.js'
import { installErrorHandler } from '../../src/http/error-handler.js'
import rateLimits, {
  browserLimit,
  failedAuthLimit,
  failedAuthPerAddressLimit,
} from '../../src/http/plugins/rate-limit.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createCaller } from '../support/fixtures.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const wrong = { authorization: 'Bearer not-the-admin-token' }

t.test('failing attempts from an address get 429 past the limit; valid credentials from it never do', async (t) => {
  const { app, logs } = await build(t)
  const caller = await createCaller(app, { allowedProviders: [] })
  const get = (url: string, headers: Record<string, string>, remoteAddress = '127.0.0.1') =>
    app.inject({ method: 'GET', url, headers, remoteAddress })

  for (let i = 0; i < failedAuthLimit.max; i++) {
    const res = await get('/admin/audit', wrong)
    if (res.statusCode !== 401) t.fail(`attempt ${i + 1} answered ${res.statusCode}`)
  }
  t.notOk(
    logs.lines.some((line) => /over the limit/.test(line)),
    'nothing logged before the limit',
  )
  const refused = await get('/admin/audit', wrong)
  t.equal(refused.statusCode, 429, 'the same failing credential, once more')
  t.strictSame(Object.keys(refused.json()), ['error', 'message'])
  t.equal(refused.json().error, 'rate_limited')
  t.match(refused.json().message, /^too many failed authentications, retry in \d+ seconds?$/)
  t.ok(Number(refused.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await get('/admin/connections', wrong)).statusCode, 429, 'on every authenticated route')

  const warned = logs.lines.map((line) => JSON.parse(line)).filter((line) => /over the limit/.test(line.msg ?? ''))
  t.equal(warned.length, 1, 'the lockout is logged once')
  t.equal(warned[0].level, 40, 'at warn')
  t.equal(warned[0].keyPrefix, undefined, 'the start of what is not an API key (a mistyped admin token) is not logged')
  t.notOk(
    logs.lines.some((line) => line.includes(wrong.authorization.slice(7))),
    'never the whole credential',
  )

  t.equal((await get('/admin/audit', admin)).statusCode, 200, 'the admin token from the same address')
  t.equal((await get('/tokens/nobody?provider=none', caller.headers)).statusCode, 403, 'a valid API key too')
  t.equal((await get('/admin/audit', {})).statusCode, 401, 'another key prefix (none) is counted apart')
  t.equal((await get('/healthz', {})).statusCode, 200, 'routes without credentials still answer')
  t.equal((await get('/admin/audit', wrong, '10.0.0.7')).statusCode, 401, 'other addresses are not affected')
})

t.test('a revoked caller that keeps retrying does not lock out the other callers on its host', async (t) => {
  const { app, logs } = await build(t)
  const revoked = await createCaller(app, { allowedProviders: [] })
  const other = await createCaller(app, { allowedProviders: [] })
  const res = await app.inject({ method: 'DELETE', url: `/admin/clients/${revoked.id}`, headers: admin })
  t.equal(res.statusCode, 204)
  const get = (headers: Record<string, string>) =>
    app.inject({ method: 'GET', url: '/tokens/u?provider=p', headers, remoteAddress: '10.1.1.1' })
  for (let i = 0; i < failedAuthLimit.max + 5; i++) await get(revoked.headers)
  t.equal((await get(revoked.headers)).statusCode, 429, 'the revoked key is slowed down')
  const warned = logs.lines.map((line) => JSON.parse(line)).find((line) => /over the limit/.test(line.msg ?? ''))
  t.equal(warned?.keyPrefix, revoked.apiKey.slice(0, 10), "the lockout names the API key's public prefix")
  t.equal((await get(other.headers)).statusCode, 403, 'its neighbour is served (403: provider not allowed)')
})

t.test('failing attempts with ever new credentials are limited per address', async (t) => {
  const { app } = await build(t)
  const get = (token: string) =>
    app.inject({ method: 'GET', url: '/admin/audit', headers: { authorization: `Bearer ${token}` } })
  for (let i = 0; i < failedAuthPerAddressLimit.max; i++) {
    const res = await get(`${i}-guess-${i}`)
    if (res.statusCode !== 401) t.fail(`attempt ${i + 1} answered ${res.statusCode}`)
  }
  t.equal((await get('another-guess')).statusCode, 429)
  t.equal((await get(ADMIN_TOKEN)).statusCode, 200, 'the right one still passes')
})

t.test('successful requests do not count', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < failedAuthLimit.max * 2; i++) {
    await app.inject({ method: 'GET', url: '/admin/audit', headers: admin })
  }
  for (let i = 0; i < failedAuthLimit.max - 1; i++) {
    await app.inject({ method: 'GET', url: '/admin/audit', headers: wrong })
  }
  const res = await app.inject({ method: 'GET', url: '/admin/audit', headers: wrong })
  t.equal(res.statusCode, 401, 'the last failure within the limit still answers 401')
})

t.test('behind a trusted proxy, limits count the forwarded client address', async (t) => {
  const { app } = await build(t, { config: { TRUST_PROXY: ['127.0.0.1'] } })
  const get = (client: string, headers: Record<string, string>) =>
    app.inject({ method: 'GET', url: '/admin/audit', headers: { ...headers, 'x-forwarded-for': client } })
  for (let i = 0; i < failedAuthLimit.max; i++) await get('203.0.113.5', wrong)
  t.equal((await get('203.0.113.5', wrong)).statusCode, 429)
  t.equal((await get('203.0.113.6', wrong)).statusCode, 401, 'another client behind the same proxy')
})

t.test('without TRUST_PROXY a forged X-Forwarded-For changes nothing', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < failedAuthLimit.max; i++) {
    await app.inject({
      method: 'GET',
      url: '/admin/audit',
      headers: { ...wrong, 'x-forwarded-for': `198.51.100.${i}` },
    })
  }
  const res = await app.inject({
    method: 'GET',
    url: '/admin/audit',
    headers: { ...wrong, 'x-forwarded-for': '1.2.3.4' },
  })
  t.equal(res.statusCode, 429)
})

t.test('the callback is never rate limited: a 429 there would lose the authorization code', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < browserLimit.max + 5; i++) {
    const res = await app.inject({ method: 'GET', url: '/oauth/idp/callback?state=s&code=c' })
    if (res.statusCode === 429) return t.fail(`callback ${i + 1} answered 429`)
  }
  t.pass('no 429')
})

t.test('TRUST_PROXY parses to true, false or a list of addresses', async (t) => {
  const parse = (TRUST_PROXY: string) =>
    loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'tb-proxy-')), TRUST_PROXY }).config.TRUST_PROXY
  t.equal(parse('true'), true)
  t.equal(parse('false'), false)
  t.strictSame(parse('10.0.0.0/8, 127.0.0.1,::1, loopback'), ['10.0.0.0/8', '127.0.0.1', '::1', 'loopback'])
  t.throws(() => parse('2'), ConfigError)
  t.throws(
    () => parse('proxy.internal'),
    new ConfigError('TRUST_PROXY', 'must be true, false, or a comma-separated list of addresses and CIDRs'),
  )
})

t.test('routes tagged browser are limited per address', async (t) => {
  const app = Fastify()
  installErrorHandler(app)
  await app.register(rateLimits)
  const ok = async () => ({ ok: true })
  app.get('/flow', { schema: { tags: ['browser'] } }, ok)
  app.get('/own', { schema: { tags: ['browser'] }, config: { rateLimit: { max: 2, timeWindow: 60_000 } } }, ok)
  app.get('/other', ok)
  t.teardown(() => app.close())

  const get = (url: string, remoteAddress = '127.0.0.1') => app.inject({ method: 'GET', url, remoteAddress })
  for (let i = 0; i < browserLimit.max; i++) {
    const res = await get('/flow')
    if (res.statusCode !== 200) t.fail(`request ${i + 1} answered ${res.statusCode}`)
  }
  const limited = await get('/flow')
  t.equal(limited.statusCode, 429)
  t.equal(limited.json().error, 'rate_limited')
  t.match(limited.json().message, /^too many requests, retry in \d+ seconds?$/)
  t.ok(Number(limited.headers['retry-after']) > 0)
  t.equal((await get('/flow', '10.0.0.8')).statusCode, 200, 'per address')
  t.equal((await get('/other')).statusCode, 200, 'untagged routes are not limited')

  await get('/own')
  await get('/own')
  t.equal((await get('/own')).statusCode, 429, "a route's own limit wins")
})

t.test('every answer carries its request id', async (t) => {
  const { app, logs } = await build(t)
  const generated = await app.inject({ method: 'GET', url: '/healthz' })
  t.match(generated.headers['x-request-id'], /^[0-9a-f-]{36}$/)

  const given = await app.inject({ method: 'GET', url: '/admin/audit', headers: { 'x-request-id': 'trace-abc.123' } })
  t.equal(given.statusCode, 401)
  t.equal(given.headers['x-request-id'], 'trace-abc.123', 'a well-formed incoming id is kept')
  const missing = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'bad id\twith spaces' } })
  t.equal(missing.statusCode, 404)
  t.match(missing.headers['x-request-id'], /^[0-9a-f-]{36}$/, 'a malformed one is replaced')

  const lines = logs.lines.map((line) => JSON.parse(line) as { reqId?: string; msg?: string })
  const traced = lines.filter((line) => line.reqId === 'trace-abc.123')
  t.ok(traced.some((line) => line.msg === 'incoming request'))
  t.ok(traced.some((line) => line.msg === 'request completed'))
  t.ok(
    lines.filter((line) => /request/.test(line.msg ?? '')).every((line) => line.reqId),
    'every request log line has a reqId',
  )
})
