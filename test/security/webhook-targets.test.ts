// Webhooks cannot be aimed inside the network (CONTRACT.md, "Webhook and provider URL rules"): a URL whose host is
// or resolves to an internal address is refused when it is registered, and again at delivery, on the address the
// connection is made to, so a name that changes its answer after registration (DNS rebinding) is refused too.
import { promises as dns, type LookupAddress } from 'node:dns'
import t from 'tap'
import { build } from '../helper.js'
import { createCaller } from '../support/fixtures.js'
import { changeStatus } from '../webhooks/fixtures.js'
import { webhookWorld } from '../webhooks/world.js'
import { parseAllowedHosts } from '../../src/urls/addresses.js'

/** Names the test controls; others go to the system resolver (`localhost`, names that do not exist). */
function testResolver(names: Map<string, string[]>) {
  const lookups: string[] = []
  const resolve = async (hostname: string): Promise<LookupAddress[]> => {
    lookups.push(hostname)
    const mapped = names.get(hostname)
    if (!mapped) return dns.lookup(hostname, { all: true })
    return mapped.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))
  }
  return { resolve, lookups }
}

t.test('in production, every internal address class is refused at registration', async (t) => {
  const names = new Map([
    ['metadata.test', ['169.254.169.254']],
    ['intranet.test', ['10.1.2.3']],
    ['half-internal.test', ['93.184.216.34', '10.0.0.5']],
    ['v6-internal.test', ['fd12:3456::1']],
    ['public.test', ['93.184.216.34', '2606:4700::6810:84e5']],
    ['allowed-by-name.test', ['10.9.9.9']],
  ])
  const { resolve } = testResolver(names)
  const { app, db } = await build(t, {
    config: {
      NODE_ENV: 'production',
      WEBHOOK_ALLOWED_HOSTS: parseAllowedHosts('allowed-by-name.test, 10.20.0.0/16, fd00:aaaa::/32'),
    },
    resolveHost: resolve,
  })
  const caller = await createCaller(app)
  const put = (url: string) => app.inject({ method: 'PUT', url: '/webhook', headers: caller.headers, payload: { url } })

  const refused: [string, RegExp][] = [
    ['https://169.254.169.254/latest/meta-data/', /internal address \(link-local\)/],
    ['https://10.0.0.1/', /internal address \(private\)/],
    ['https://192.168.1.10/hooks', /internal address \(private\)/],
    ['https://172.16.0.1/hooks', /internal address \(private\)/],
    ['https://0.0.0.0/', /internal address \(unspecified\)/],
    ['https://[::ffff:127.0.0.1]/', /internal address \(IPv4-mapped\)/],
    ['https://[::ffff:a9fe:a9fe]/', /internal address \(IPv4-mapped\)/],
    ['http://127.1:5432/', /must be https/],
    ['https://127.1:5432/', /internal address \(loopback\)/],
    ['https://2130706433/', /internal address \(loopback\)/],
    ['https://0x7f.0.0.1/', /internal address \(loopback\)/],
    ['https://0177.0.0.1/', /internal address \(loopback\)/],
    ['https://127.0.0.1:3000/admin/clients', /internal address \(loopback\)/],
    ['https://[::1]:3000/', /internal address \(loopback\)/],
    ['https://[::]/', /internal address \(unspecified\)/],
    ['https://100.64.0.1/', /internal address \(CGNAT\)/],
    ['https://[fc00::1]/', /internal address \(unique-local\)/],
    ['https://[fe80::1]/', /internal address \(link-local\)/],
    ['https://224.0.0.1/', /internal address \(multicast\)/],
    ['https://255.255.255.255/', /internal address \(broadcast\)/],
    ['https://192.0.2.1/', /internal address \(reserved\)/],
    ['https://10.21.0.1/', /internal address \(private\)/],
    ['https://localhost/hooks', /internal address \(loopback\)/],
    ['https://metadata.test/latest', /internal address \(link-local\)/],
    ['https://intranet.test/hooks', /internal address \(private\)/],
    ['https://half-internal.test/hooks', /internal address \(private\)/],
    ['https://v6-internal.test/hooks', /internal address \(unique-local\)/],
    ['http://allowed-by-name.test/hooks', /must be https/],
    ['http://10.20.3.4/hooks', /must be https/],
  ]
  for (const [url, message] of refused) {
    const res = await put(url)
    t.equal(res.statusCode, 400, `${url} is refused`)
    t.equal(res.json().error, 'invalid_request', url)
    t.match(res.json().message, message, url)
    t.notMatch(res.json().message, /10\.0\.0\.5|10\.1\.2\.3|169\.254/, `${url}: the resolved address is not told`)
  }
  t.equal(await db.prisma.webhookEndpoint.count(), 0, 'nothing was stored')

  for (const url of [
    'https://public.test/hooks',
    'https://allowed-by-name.test/hooks',
    'https://10.20.3.4/hooks',
    'https://[fd00:aaaa::5]/hooks',
    'https://8.8.8.8/hooks',
    // a name that does not resolve yet: accepted, and checked again at every delivery
    'https://billing.example/hooks',
  ]) {
    const res = await put(url)
    t.ok([200, 201].includes(res.statusCode), `${url} is accepted (${res.statusCode} ${res.body})`)
  }
})

t.test('the admin route applies the same rule', async (t) => {
  const { app } = await build(t, { config: { NODE_ENV: 'production' } })
  const caller = await createCaller(app)
  const res = await app.inject({
    method: 'PUT',
    url: `/admin/clients/${caller.id}/webhook`,
    headers: { authorization: `Bearer ${app.deps.config.ADMIN_TOKEN}` },
    payload: { url: 'https://169.254.169.254/' },
  })
  t.equal(res.statusCode, 400)
  t.match(res.json(), { error: 'invalid_request', message: /internal address/ })
})

t.test('outside production, loopback receivers are allowed, other internal addresses are not', async (t) => {
  const { app } = await build(t)
  const caller = await createCaller(app)
  const put = (url: string) => app.inject({ method: 'PUT', url: '/webhook', headers: caller.headers, payload: { url } })
  for (const url of ['http://127.0.0.1:4000/hooks', 'http://localhost:4000/hooks', 'http://[::1]:4000/hooks']) {
    t.ok([200, 201].includes((await put(url)).statusCode), `${url} is accepted`)
  }
  for (const url of ['https://10.0.0.1/', 'https://169.254.169.254/', 'http://[::ffff:127.0.0.1]/']) {
    t.equal((await put(url)).statusCode, 400, `${url} is refused`)
  }
})

t.test('at delivery, a name that now resolves to an internal address is refused before anything is sent', async (t) => {
  const names = new Map([['receiver.test', ['127.0.0.1']]])
  const { resolve, lookups } = testResolver(names)
  const w = await webhookWorld(t, { resolveHost: resolve, webhooks: { random: () => 0.5 } })
  const port = new URL(w.receiver.url).port
  const registered = await w.app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: { authorization: `Bearer ${w.caller.apiKey}` },
    payload: { url: `http://receiver.test:${port}/hooks` },
  })
  t.equal(registered.statusCode, 200, registered.body)

  // afterwards it answers the metadata address, as a rebinding DNS server does once the check at registration passed
  names.set('receiver.test', ['169.254.169.254'])
  t.equal(await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now()), 1)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  const failed = await w.db.prisma.webhookDelivery.findFirstOrThrow()
  // over plain http, only a loopback address may be reached (outside production)
  t.match(failed.lastError, /^refused: the receiver's address must be https/)
  t.equal(w.receiver.received.length, 0, 'nothing was sent')

  // the name answers the receiver's address again: the retry is delivered, through the same checked lookup
  names.set('receiver.test', ['127.0.0.1'])
  w.advance(60_000)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 1, failed: 0, gaveUp: 0 })
  t.equal(w.receiver.received.length, 1)
  t.ok(lookups.filter((name) => name === 'receiver.test').length >= 3, 'resolved at registration and per connection')

  // the same over https: a public answer at registration, the metadata address at delivery
  names.set('rebind.test', ['93.184.216.34'])
  const moved = await w.app.inject({
    method: 'PUT',
    url: '/webhook',
    headers: { authorization: `Bearer ${w.caller.apiKey}` },
    payload: { url: 'https://rebind.test/hooks' },
  })
  t.equal(moved.statusCode, 200, moved.body)
  names.set('rebind.test', ['93.184.216.34', '169.254.169.254'])
  t.equal(await changeStatus(w.db, w.connectionId, 'connection.revoked', 'revoked', w.now()), 1)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  const refused = await w.db.prisma.webhookDelivery.findFirstOrThrow({ where: { status: 'pending' } })
  t.match(refused.lastError, /^refused: the receiver's address must not reach an internal address \(link-local\)$/)
})

t.test('at delivery, a stored address literal that breaks the rule is refused', async (t) => {
  const w = await webhookWorld(t, { webhooks: { random: () => 0.5 } })
  // an endpoint stored before the rule existed
  await w.db.prisma.webhookEndpoint.updateMany({ data: { url: 'https://169.254.169.254/latest/meta-data/' } })
  t.equal(await changeStatus(w.db, w.connectionId, 'connection.created', 'active', w.now()), 1)
  t.same(await w.app.webhookSender.deliverDue(), { delivered: 0, failed: 1, gaveUp: 0 })
  const failed = await w.db.prisma.webhookDelivery.findFirstOrThrow()
  t.match(failed.lastError, /refused: the URL must not reach an internal address \(link-local\)/)
  t.notMatch(failed.lastError, /169\.254/, 'the error does not repeat the URL')
})

t.test('WEBHOOK_ALLOWED_HOSTS is validated at start', async (t) => {
  t.throws(() => parseAllowedHosts('hooks.example, not a host'), /"not a host"/)
  t.throws(() => parseAllowedHosts('10.0.0.0/33'), /10\.0\.0\.0\/33/)
  t.same(parseAllowedHosts('Hooks.Example., 10.0.0.0/8, ::1').names, ['hooks.example'])
  t.equal(parseAllowedHosts('').ranges.length, 0)
})
