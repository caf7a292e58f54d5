import t from 'tap'
import * as client from 'openid-client'
import { CookieJar, startAuthServer, type AuthServerHandle } from './auth-server.js'

const REDIRECT_URI = 'http://127.0.0.1:9/oauth/callback'
const CLIENT = { client_id: 'broker', client_secret: 'broker-secret', redirect_uris: [REDIRECT_URI] }

interface Tokens {
  access_token: string
  refresh_token: string
  expires_in: number | undefined
}

async function setup(t: { teardown(fn: () => Promise<void>): void }) {
  const server = await startAuthServer({ clients: [CLIENT], accessTokenTtl: 2, rotateRefreshToken: true })
  t.teardown(() => server.close())
  const config = await client.discovery(
    new URL(server.issuer),
    CLIENT.client_id,
    { client_secret: CLIENT.client_secret },
    client.ClientSecretBasic(),
    { execute: [client.allowInsecureRequests] },
  )
  return { server, config }
}

async function login(server: AuthServerHandle, config: client.Configuration, user = 'alice'): Promise<Tokens> {
  const { url, checks } = await authorizationUrl(config)
  const callback = await server.authorize(url, { login: user, consent: true })
  const response = await client.authorizationCodeGrant(config, callback, checks)
  return {
    access_token: response.access_token,
    refresh_token: response.refresh_token ?? '',
    expires_in: response.expires_in,
  }
}

async function authorizationUrl(config: client.Configuration) {
  const pkceCodeVerifier = client.randomPKCECodeVerifier()
  const expectedState = client.randomState()
  const expectedNonce = client.randomNonce()
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid offline_access',
    state: expectedState,
    nonce: expectedNonce,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
  })
  return { url, checks: { pkceCodeVerifier, expectedState, expectedNonce } }
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

t.test('code flow, refresh rotation and reuse detection with openid-client', async (t) => {
  const { server, config } = await setup(t)
  t.equal(config.serverMetadata().issuer, server.issuer)
  t.equal(config.serverMetadata().token_endpoint, server.plainOAuthEndpoints.tokenEndpoint)
  t.equal(config.serverMetadata().revocation_endpoint, server.plainOAuthEndpoints.revocationEndpoint)
  t.equal(config.serverMetadata().authorization_endpoint, server.plainOAuthEndpoints.authorizationEndpoint)

  const first = await login(server, config)
  t.ok(first.refresh_token, 'a refresh token is issued without prompt=consent')
  t.equal(first.expires_in, 2)
  t.equal(server.stats.tokenRequests.authorization_code, 1)

  const refreshed = await client.refreshTokenGrant(config, first.refresh_token)
  t.ok(refreshed.refresh_token)
  t.not(refreshed.refresh_token, first.refresh_token, 'refresh token rotated')
  t.not(refreshed.access_token, first.access_token)
  t.equal(server.stats.tokenRequests.refresh_token, 1)
  t.same(server.stats.tokenAuthMethods, ['basic', 'basic'])

  const reuse = await rejection(client.refreshTokenGrant(config, first.refresh_token))
  t.type(reuse, client.ResponseBodyError)
  t.equal((reuse as client.ResponseBodyError).error, 'invalid_grant')
  t.equal(server.stats.refreshTokenReuse, 1)
  t.same(server.stats.grantErrors.at(-1), { error: 'invalid_grant', error_detail: 'refresh token already used' })

  const revokedWithGrant = await rejection(client.refreshTokenGrant(config, refreshed.refresh_token ?? ''))
  t.equal((revokedWithGrant as client.ResponseBodyError).error, 'invalid_grant', 'reuse revoked the whole grant')
  t.same(await server.introspect(refreshed.refresh_token ?? ''), { active: false })
})

t.test('access tokens expire after accessTokenTtl', async (t) => {
  const { server, config } = await setup(t)
  const tokens = await login(server, config)
  t.equal((await server.introspect(tokens.access_token)).active, true)
  await new Promise((resolve) => setTimeout(resolve, 2100))
  t.equal((await server.introspect(tokens.access_token)).active, false)
})

t.test('token endpoint faults', async (t) => {
  const { server, config } = await setup(t)
  const tokens = await login(server, config)

  // openid-client parses OAuth error bodies of 4xx responses only: a 5xx is "not conform", whatever its body.
  server.setTokenFault({ kind: 'status', status: 500 })
  const serverError = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.equal((serverError as client.ClientError).code, 'OAUTH_RESPONSE_IS_NOT_CONFORM')
  t.equal(((serverError as client.ClientError).cause as Response).status, 500)

  server.setTokenFault({ kind: 'status', status: 429, retryAfter: 7 })
  const tooMany = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.type(tooMany, client.ResponseBodyError)
  t.equal((tooMany as client.ResponseBodyError).status, 429)
  t.equal((tooMany as client.ResponseBodyError).response.headers.get('retry-after'), '7')

  server.setTokenFault({ kind: 'status', status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' })
  const html = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.equal((html as client.ClientError).code, 'OAUTH_RESPONSE_IS_NOT_CONFORM')

  server.setTokenFault({ kind: 'garbage', body: '{"access_tok', contentType: 'application/json' })
  const truncated = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.equal((truncated as client.ClientError).code, 'OAUTH_PARSE_ERROR')

  server.setTokenFault({ kind: 'garbage', body: '{"token_type":"bearer"}', contentType: 'application/json' })
  const incomplete = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.equal((incomplete as client.ClientError).code, 'OAUTH_INVALID_RESPONSE')

  server.setTokenFault({ kind: 'drop' })
  const dropped = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.type(dropped, TypeError, 'a dropped connection is a bare fetch failure')

  server.setTokenFault({ kind: 'hang' })
  config.timeout = 1
  const timedOut = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.equal((timedOut as client.ClientError).code, 'OAUTH_TIMEOUT')
  config.timeout = 30

  server.setTokenFault(null)
  t.equal(server.stats.faultsApplied, 7)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  t.ok(refreshed.access_token, 'the refresh token survived the faults: no fault executed the grant')
  t.equal(server.stats.refreshTokenReuse, 0)

  server.setTokenFault({ kind: 'status', status: 429, grantType: 'authorization_code', times: 1 })
  const again = await client.refreshTokenGrant(config, refreshed.refresh_token ?? '')
  t.ok(again.access_token, 'a fault scoped to another grant type does not apply')
})

t.test('lost response after processing consumes the refresh token', async (t) => {
  const { server, config } = await setup(t)
  const tokens = await login(server, config)
  server.setTokenFault({ kind: 'drop', afterProcessing: true, times: 1 })
  await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  const reuse = await rejection(client.refreshTokenGrant(config, tokens.refresh_token))
  t.equal((reuse as client.ResponseBodyError).error, 'invalid_grant')
  t.equal(server.stats.refreshTokenReuse, 1)
})

t.test('a replayed authorization code is refused and revokes its grant', async (t) => {
  const { server, config } = await setup(t)
  const { url, checks } = await authorizationUrl(config)
  const callback = await server.authorize(url)
  const tokens = await client.authorizationCodeGrant(config, callback, checks)
  const replay = await rejection(client.authorizationCodeGrant(config, callback, checks))
  t.equal((replay as client.ResponseBodyError).error, 'invalid_grant')
  t.equal(server.stats.authorizationCodeReuse, 1)
  t.same(await server.introspect(tokens.refresh_token ?? ''), { active: false })
})

t.test('denied authorization', async (t) => {
  const { server, config } = await setup(t)
  const { url } = await authorizationUrl(config)
  const denied = await server.authorize(url, { deny: true })
  t.equal(denied.origin + denied.pathname, REDIRECT_URI)
  t.equal(denied.searchParams.get('error'), 'access_denied')

  const { url: second } = await authorizationUrl(config)
  const refusedConsent = await server.authorize(second, { login: 'bob', consent: false })
  t.equal(refusedConsent.searchParams.get('error'), 'access_denied')
})

t.test('server-side revocation makes the next refresh fail', async (t) => {
  const { server, config } = await setup(t)
  const alice = await login(server, config, 'alice')
  const bob = await login(server, config, 'bob')

  await server.revoke(alice.refresh_token, 'refresh_token')
  t.same(await server.introspect(alice.refresh_token), { active: false })
  t.equal(server.stats.revocations, 0, 'the handle does not count its own revocations')
  const revoked = await rejection(client.refreshTokenGrant(config, alice.refresh_token))
  t.equal((revoked as client.ResponseBodyError).error, 'invalid_grant')

  t.equal(await server.revokeGrantsFor('bob'), 1)
  const bobRevoked = await rejection(client.refreshTokenGrant(config, bob.refresh_token))
  t.equal((bobRevoked as client.ResponseBodyError).error, 'invalid_grant')

  const carol = await login(server, config, 'carol')
  await client.tokenRevocation(config, carol.refresh_token, { token_type_hint: 'refresh_token' })
  t.equal(server.stats.revocations, 1)
  t.same(server.stats.revokedTokens, [carol.refresh_token])
})

t.test('plain OAuth endpoints, post auth, omitted expires_in and refresh_token', async (t) => {
  const server = await startAuthServer({
    clients: [{ ...CLIENT, token_endpoint_auth_method: 'client_secret_post' }],
    omitExpiresIn: true,
    omitRefreshTokenOnRefresh: true,
  })
  t.teardown(() => server.close())
  const { authorizationEndpoint, tokenEndpoint, revocationEndpoint } = server.plainOAuthEndpoints
  const config = new client.Configuration(
    {
      issuer: server.issuer,
      authorization_endpoint: authorizationEndpoint,
      token_endpoint: tokenEndpoint,
      revocation_endpoint: revocationEndpoint,
    },
    CLIENT.client_id,
    { client_secret: CLIENT.client_secret },
    client.ClientSecretPost(),
  )
  client.allowInsecureRequests(config)

  const tokens = await login(server, config)
  t.equal(tokens.expires_in, undefined)
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  t.equal(refreshed.refresh_token, undefined)
  t.ok(await client.refreshTokenGrant(config, tokens.refresh_token), 'the old refresh token stays valid')
  t.same(server.stats.tokenAuthMethods, ['post', 'post', 'post'])
})

t.test('registerClient and a reused session', async (t) => {
  const { server } = await setup(t)
  const late = { client_id: 'late', client_secret: 'late-secret', redirect_uris: ['http://127.0.0.1:10/cb'] }
  await server.registerClient(late)
  const config = await client.discovery(
    new URL(server.issuer),
    late.client_id,
    { client_secret: late.client_secret },
    client.ClientSecretBasic(),
    { execute: [client.allowInsecureRequests] },
  )
  const jar = new CookieJar()
  for (let i = 0; i < 2; i++) {
    const pkceCodeVerifier = client.randomPKCECodeVerifier()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: late.redirect_uris[0] ?? '',
      scope: 'openid',
      state: 'st',
      code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
      code_challenge_method: 'S256',
    })
    const callback = await server.authorize(url, { login: 'dave', cookieJar: jar })
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier, expectedState: 'st' })
    t.equal(tokens.claims()?.sub, 'dave')
    t.ok(tokens.refresh_token)
  }
})
