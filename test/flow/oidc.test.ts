// The whole flow against oidc-provider found by discovery: ID token and nonce, client_secret_basic, cookie
// attributes, tokens encrypted at rest, a repeat consent replacing the tokens, and logs free of secrets.
import t from 'tap'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { ADMIN_TOKEN } from '../helper.js'
import { browserGet, connectUser, openStartLink, requestAuthorization, startFlowEnv } from '../support/flow.js'

const env = await startFlowEnv(t)

t.test('a user connects through an OpenID Connect provider found by discovery', async (t) => {
  const link = await requestAuthorization(env, { userId: 'alice' })
  t.equal(link.url, `${env.publicUrl.origin}/oauth/start/${link.id}`)
  t.ok(new Date(link.expiresAt).getTime() - Date.now() > 9 * 60_000, 'valid for 10 minutes')

  const started = await browserGet(link.url)
  t.equal(started.status, 302)
  const providerUrl = started.location as URL
  t.equal(providerUrl.origin + providerUrl.pathname, `${env.server.issuer}/auth`, 'discovered authorization endpoint')
  const params = providerUrl.searchParams
  t.equal(params.get('redirect_uri'), `${env.publicUrl.origin}/oauth/idp/callback`)
  t.equal(params.get('code_challenge_method'), 'S256')
  t.ok(params.get('nonce'), 'nonce sent to an OIDC provider')
  t.match(params.get('state'), /^[A-Za-z0-9_-]{43}$/, 'state: 256 random bits')

  const setCookie = (await fetch(link.url, { redirect: 'manual' })).headers.get('set-cookie')
  t.equal(setCookie, null, 'a start link is single use: no second cookie')
  const cookieHeader = await (async () => {
    const again = await requestAuthorization(env, { userId: 'attributes' })
    return (await fetch(again.url, { redirect: 'manual' })).headers.get('set-cookie') ?? ''
  })()
  t.match(cookieHeader, /HttpOnly/)
  t.match(cookieHeader, /SameSite=Lax/)
  t.match(cookieHeader, /Path=\/oauth(;|$)/)
  t.match(cookieHeader, /Max-Age=600/)
  t.notMatch(cookieHeader, /Secure/, 'not Secure while PUBLIC_URL is http')

  const callbackUrl = await env.server.authorize(providerUrl, { login: 'alice' })
  t.equal(callbackUrl.searchParams.get('iss'), env.server.issuer, 'the provider sends iss, which is checked')
  const callback = await browserGet(callbackUrl, started.cookie)
  t.equal(callback.status, 302)
  t.equal(callback.location?.href, `${env.returnTo}?status=connected`)
  t.match(callback.cookie, new RegExp(`^tb_flow_${link.id}=$`), 'the flow cookie is cleared')
  t.same(env.server.stats.tokenAuthMethods, ['basic'], 'client_secret_basic')

  const connection = await env.db.prisma.connection.findUniqueOrThrow({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: 'idp', userId: 'alice' } },
  })
  t.match(connection, { status: 'active', subject: 'alice', tokenType: 'Bearer', lifetimeSeconds: 3600 })
  t.equal(connection.createdByClientId, env.caller.id)
  t.ok(connection.nextRefreshAt, 'a refresh is scheduled')
  const accessToken = openAccessToken(env.app.deps.keyring, connection).reveal()
  t.equal((await env.server.introspect(accessToken)).active, true, 'the stored access token is the one granted')
  t.ok(openRefreshToken(env.app.deps.keyring, connection))

  const request = await env.db.prisma.authorizationRequest.findUniqueOrThrow({ where: { id: link.id } })
  t.match(request, { status: 'completed', outcome: 'connected', codeVerifierEnc: null })
  const audit = await env.db.prisma.auditEvent.findFirst({ where: { action: 'connection.created', userId: 'alice' } })
  t.match(audit, { actor: 'user', subjectId: connection.id, providerId: 'idp' })
  const metrics = await env.app.deps.metrics.registry.getSingleMetricAsString('token_broker_authorization_flows_total')
  t.match(metrics, /outcome="connected"} 1/)
})

t.test('tokens and secrets are encrypted at rest', async (t) => {
  const { connection } = await connectUser(env, { userId: 'at-rest' })
  const accessToken = openAccessToken(env.app.deps.keyring, connection).reveal()
  const refreshToken = openRefreshToken(env.app.deps.keyring, connection)?.reveal() as string
  // every byte of every row, as stored
  const tables = ['connections', 'providers', 'authorization_requests', 'audit_events']
  const rows = await Promise.all(tables.map((table) => env.db.pool.query(`SELECT * FROM ${table}`)))
  const dump = Buffer.concat(
    rows.flatMap((result) =>
      result.rows.flatMap((row) =>
        Object.values(row).map((value) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value) ?? ''))),
      ),
    ),
  )
  t.notOk(dump.includes(accessToken), 'no plaintext access token')
  t.notOk(dump.includes(refreshToken), 'no plaintext refresh token')
  t.notOk(dump.includes(env.clientSecret), 'no plaintext client secret')
})

t.test('a repeat consent replaces the tokens of the same connection and resets its state', async (t) => {
  const first = await connectUser(env, { userId: 'bob' })
  await env.db.prisma.connection.update({
    where: { id: first.connection.id },
    data: { status: 'reauthorization_required', failureCount: 4, lastError: 'invalid_grant', lastErrorAt: new Date() },
  })
  const second = await connectUser(env, { userId: 'bob' })
  t.equal(second.connection.id, first.connection.id, 'same row')
  t.match(second.connection, { status: 'active', failureCount: 0, lastError: null, lastErrorAt: null })
  t.equal(second.connection.version, first.connection.version + 1)
  const keyring = env.app.deps.keyring
  t.not(openAccessToken(keyring, second.connection).reveal(), openAccessToken(keyring, first.connection).reveal())
  t.equal(await env.db.prisma.connection.count({ where: { userId: 'bob' } }), 1)
  const audit = await env.db.prisma.auditEvent.findMany({ where: { action: 'connection.created', userId: 'bob' } })
  t.match(audit.at(-1)?.detail, { replaced: true, previousStatus: 'reauthorization_required' })
})

t.test('without returnTo the callback shows a page', async (t) => {
  const link = await requestAuthorization(env, { userId: 'carol', returnTo: null })
  const { providerUrl, cookie } = await openStartLink(link.url)
  const callbackUrl = await env.server.authorize(providerUrl, { login: 'carol' })

  const withoutCookie = await browserGet(callbackUrl)
  t.equal(withoutCookie.status, 400, 'the callback without the flow cookie is refused')
  t.match(withoutCookie.body, /invalid_state/)

  const res = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie } })
  t.equal(res.status, 200)
  t.match(await res.text(), /<h1>Connected to the provider<\/h1>/)
  t.match(res.headers.get('content-type'), /^text\/html/)
  t.match(res.headers.get('content-security-policy'), /^default-src 'none'; style-src 'sha256-[^']+'; /)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.equal(res.headers.get('referrer-policy'), 'no-referrer')
  t.equal(await env.db.prisma.connection.count({ where: { userId: 'carol' } }), 1)
})

t.test('no token, code, secret, API key or cookie value reaches the logs', async (t) => {
  const { connection, callbackUrl, cookie } = await connectUser(env, { userId: 'erin' })
  const keyring = env.app.deps.keyring
  const secrets = {
    accessToken: openAccessToken(keyring, connection).reveal(),
    refreshToken: openRefreshToken(keyring, connection)?.reveal() as string,
    code: callbackUrl.searchParams.get('code') as string,
    state: callbackUrl.searchParams.get('state') as string,
    clientSecret: env.clientSecret,
    apiKey: env.caller.apiKey,
    cookieValue: decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)),
    binding: decodeURIComponent(cookie.slice(cookie.indexOf('=') + 1)).split('.')[0] as string,
    adminToken: ADMIN_TOKEN,
  }
  t.ok(env.logs.lines.length > 10, 'the flow was logged')
  for (const [name, value] of Object.entries(secrets)) {
    t.ok(value && value.length >= 16, `${name} is known`)
    t.notOk(env.logs.text.includes(value), `${name} is not in the logs`)
  }
})
