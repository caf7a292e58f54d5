// Tokens and other secrets never appear in a URL the broker builds: the redirect to the provider, the redirect back
// to returnTo (which must not carry the code or state either), or any other Location header; and the pages that see
// a code in their own URL are neither cached nor referred.
import t from 'tap'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { ADMIN_TOKEN } from '../helper.js'
import { browserGet, connectUser, openStartLink, requestAuthorization, startFlowEnv } from '../support/flow.js'

const env = await startFlowEnv(t, { app: { background: false } })

function secretsOf(values: Array<string | undefined | null>): string[] {
  return values.filter((value): value is string => typeof value === 'string' && value.length >= 8)
}

t.test('a whole flow, a refresh and the failure paths: no secret in any Location', async (t) => {
  const locations: Array<{ step: string; url: URL }> = []
  const returnTo = `${env.returnTo}?next=%2Fhome`
  const { connection, callbackUrl, cookie, callback } = await connectUser(env, { userId: 'alice', returnTo })
  const link = await requestAuthorization(env, { userId: 'alice2', returnTo })
  const started = await browserGet(link.url)
  locations.push({ step: 'start', url: started.location as URL })
  t.equal(started.status, 302)
  for (const res of [started, callback]) {
    t.equal(res.status, 302)
  }
  locations.push({ step: 'callback', url: callback.location as URL })

  // refresh: the new tokens must not show up in any URL either
  await env.db.prisma.connection.update({
    where: { id: connection.id },
    data: { expiresAt: new Date(Date.now() - 1000), nextRefreshAt: new Date(Date.now() - 1000) },
  })
  const read = await env.app.inject({ method: 'GET', url: '/tokens/alice?provider=idp', headers: env.caller.headers })
  t.equal(read.statusCode, 200)
  t.equal(read.headers.location, undefined)
  t.equal(read.headers['cache-control'], 'no-store')
  const refreshed = await env.db.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })

  // failure paths: a denied consent, a replayed callback, a spent start link
  const denied = await requestAuthorization(env, { userId: 'carol', returnTo })
  const deniedStart = await openStartLink(denied.url)
  const deniedCallback = await env.server.authorize(deniedStart.providerUrl, { login: 'carol', deny: true })
  const deniedAnswer = await browserGet(deniedCallback, deniedStart.cookie)
  locations.push({ step: 'denied', url: deniedAnswer.location as URL })
  const replayed = await browserGet(callbackUrl, cookie)
  locations.push({ step: 'replayed callback', url: replayed.location as URL })
  const spent = await browserGet(link.url)
  locations.push({ step: 'spent start link', url: spent.location as URL })

  const { keyring } = env.app.deps
  const secrets = secretsOf([
    openAccessToken(keyring, connection).reveal(),
    openRefreshToken(keyring, connection)?.reveal(),
    openAccessToken(keyring, refreshed).reveal(),
    openRefreshToken(keyring, refreshed)?.reveal(),
    env.clientSecret,
    env.caller.apiKey,
    ADMIN_TOKEN,
    env.config.COOKIE_SECRET,
    callbackUrl.searchParams.get('code'),
    ...cookie.split(';').map((pair) => decodeURIComponent(pair.split('=')[1] ?? '')),
    ...started.cookie.split(';').map((pair) => decodeURIComponent(pair.split('=')[1] ?? '')),
  ])
  t.ok(secrets.length >= 9, `${secrets.length} secrets looked for`)
  for (const { step, url } of locations) {
    t.ok(url, `${step} redirects`)
    const text = decodeURIComponent(url.href)
    for (const secret of secrets) t.notOk(text.includes(secret), `${step}: no secret in ${url.origin}${url.pathname}`)
  }

  // back at returnTo: its own query, status and error, nothing else (no code, no state, no iss)
  for (const { step, url } of locations.filter((l) => l.step !== 'start')) {
    t.equal(url.origin + url.pathname, new URL(env.returnTo).href, step)
    t.same(
      [...new Set(url.searchParams.keys())].sort(),
      step === 'callback' ? ['next', 'status'] : ['error', 'next', 'status'],
      step,
    )
  }
  // to the provider: the documented parameters only
  const startUrl = locations.find((l) => l.step === 'start')?.url as URL
  t.same([...startUrl.searchParams.keys()].sort(), [
    'client_id',
    'code_challenge',
    'code_challenge_method',
    'nonce',
    'redirect_uri',
    'response_type',
    'scope',
    'state',
  ])
  t.equal(started.body, '', 'no body beside the redirect')
})

t.test('the start and callback answers are neither cached nor referred', async (t) => {
  const link = await requestAuthorization(env, { userId: 'dave' })
  const started = await fetch(link.url, { redirect: 'manual' })
  const cookie = started.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ')
  const callbackUrl = await env.server.authorize(new URL(started.headers.get('location') as string), { login: 'dave' })
  const callback = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie } })
  for (const res of [started, callback]) {
    t.equal(res.headers.get('cache-control'), 'no-store')
    t.equal(res.headers.get('referrer-policy'), 'no-referrer')
  }
  const page = await browserGet(new URL(`/oauth/idp/callback?state=${'x'.repeat(43)}&code=abc`, env.publicUrl))
  t.equal(page.status, 400)
  t.notMatch(page.body, /abc|x{43}/, 'the page does not echo the code or state')
})
