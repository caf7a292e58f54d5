// The flow cookie: signed with COOKIE_SECRET, HttpOnly, SameSite=Lax, limited to the OAuth routes under PUBLIC_URL's
// path, Secure when PUBLIC_URL is https, and cleared at the callback with the same attributes (or the browser would
// keep it). A provider given by its endpoints lets the flow start without any network call.
import t, { type Test } from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createProvider } from '../support/fixtures.js'

const refusingFetch: typeof fetch = async () => {
  throw new TypeError('fetch failed')
}

async function startAndCallback(t: Test, publicUrl: string) {
  const { app, config } = await build(t, {
    background: false,
    fetch: refusingFetch,
    config: { PUBLIC_URL: new URL(publicUrl) },
  })
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
  await createProvider(app, { id: 'idp' })
  const created = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: admin,
    payload: { name: 'web', allowedProviders: ['idp'] },
  })
  const caller = { authorization: `Bearer ${created.json().apiKey}` }
  const link = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: caller,
    payload: { provider: 'idp', userId: 'u' },
  })
  const { id } = link.json() as { id: string }
  // the app sees paths without PUBLIC_URL's prefix: a reverse proxy strips it
  const start = await app.inject({ method: 'GET', url: `/oauth/start/${id}` })
  const set = String(start.headers['set-cookie'])
  const state = new URL(String(start.headers.location)).searchParams.get('state') as string
  const value = /^tb_flow_[^=]+=([^;]+)/.exec(set)?.[1] as string
  const callback = await app.inject({
    method: 'GET',
    url: `/oauth/idp/callback?state=${state}&code=abc`,
    headers: { cookie: `tb_flow_${id}=${value}` },
  })
  return { app, config, id, set, value, callback, cleared: String(callback.headers['set-cookie']) }
}

t.test('under an http PUBLIC_URL with a path', async (t) => {
  const { app, id, set, value, callback, cleared } = await startAndCallback(t, 'http://127.0.0.1:3000/broker')
  t.match(set, new RegExp(`^tb_flow_${id}=`))
  t.match(set, /; Max-Age=600/)
  t.match(set, /; Path=\/broker\/oauth(;|$)/)
  t.match(set, /; HttpOnly/)
  t.match(set, /; SameSite=Lax/)
  t.notMatch(set, /; Secure/)
  t.notMatch(set, /; Domain=/, 'host-only')

  const unsigned = app.unsignCookie(decodeURIComponent(value))
  t.ok(unsigned.valid, 'signed with COOKIE_SECRET')
  t.match(unsigned.value, /^[A-Za-z0-9_-]{43}$/, '256 random bits')
  const forged = `${unsigned.value}.${'A'.repeat(43)}`
  t.notOk(app.unsignCookie(forged).valid, 'another signature is refused')

  t.equal(callback.statusCode, 502, 'the exchange itself fails: the provider is unreachable')
  t.match(cleared, new RegExp(`^tb_flow_${id}=;`), 'cleared')
  t.match(cleared, /; Path=\/broker\/oauth(;|$)/, 'with the same Path, so the browser drops it')
  t.match(cleared, /Expires=Thu, 01 Jan 1970|Max-Age=0/)
})

t.test('under an https PUBLIC_URL: Secure when set and when cleared', async (t) => {
  const { set, cleared } = await startAndCallback(t, 'https://broker.example.com')
  t.match(set, /; Path=\/oauth(;|$)/)
  t.match(set, /; Secure/)
  t.match(cleared, /; Secure/)
})
