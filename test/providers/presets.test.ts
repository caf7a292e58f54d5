// Each preset's authorization URL and token request, checked against the provider's published documentation. The
// broker runs its real flow (admin API → POST /authorizations → start → callback); the provider is a fetch that
// records what the broker sends and answers as the documentation shows.
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import t, { type Test } from 'tap'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { build, type Built } from '../helper.js'
import { adminHeaders } from '../support/flow.js'

const PUBLIC_URL = 'https://broker.example.com'
const CLIENT_ID = 'preset-client-id'
const CLIENT_SECRET = 'preset-client-secret'
const CODE = 'documented-code-123'

interface Recorded {
  url: string
  method: string
  headers: Headers
  body: URLSearchParams
  /** The body was JSON (its fields are in `body` all the same). */
  json: boolean
}

/** A provider made of fetch answers: discovery documents by issuer, one token response for every token request. */
function fakeProvider(discovery: Record<string, object> = {}) {
  const tokenRequests: Recorded[] = []
  let tokenResponse: (request: Recorded) => object = () => ({})
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    const document = discovery[url]
    if (document) return Response.json(document)
    const headers = new Headers(init?.headers)
    const json = /json/.test(headers.get('content-type') ?? '')
    const request = {
      url,
      method: init?.method ?? 'GET',
      headers,
      body: new URLSearchParams(json ? JSON.parse(String(init?.body)) : String(init?.body ?? '')),
      json,
    }
    tokenRequests.push(request)
    return Response.json(tokenResponse(request))
  }
  return { fetch, tokenRequests, answer: (fn: (request: Recorded) => object) => (tokenResponse = fn) }
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

/** An RS256 ID token (openid-client checks its claims; the signature only with non-repudiation checks). */
function idToken(claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

/** A discovery document; endpoints given as paths are on the issuer's origin, absolute ones (Google, Xero) elsewhere. */
function oidcDiscovery(issuer: string, paths: { authorize: string; token: string; revoke?: string }) {
  const at = (path: string) => (/^https:\/\//.test(path) ? path : new URL(issuer).origin + path)
  return {
    issuer,
    authorization_endpoint: at(paths.authorize),
    token_endpoint: at(paths.token),
    ...(paths.revoke ? { revocation_endpoint: at(paths.revoke) } : {}),
    jwks_uri: `${new URL(issuer).origin}/.well-known/jwks.json`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  }
}

async function setup(t: Test, fetch: typeof globalThis.fetch, provider: Record<string, unknown>) {
  const built = await build(t, { fetch, config: { PUBLIC_URL: new URL(PUBLIC_URL) } })
  const created = await built.app.inject({
    method: 'POST',
    url: '/admin/providers',
    headers: adminHeaders,
    payload: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...provider },
  })
  t.equal(created.statusCode, 201, created.body)
  const caller = await built.app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: adminHeaders,
    payload: { name: 'app', allowedProviders: [provider.id], allowedReturnTo: ['https://app.example.com/'] },
  })
  return { ...built, apiKey: (caller.json() as { apiKey: string }).apiKey, provider: created.json() }
}

/** POST /authorizations and open the start link; returns the provider URL and the flow cookie. */
async function start(t: Test, { app, apiKey }: Built & { apiKey: string }, provider: string) {
  const authorization = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { provider, userId: 'user-1', returnTo: 'https://app.example.com/done' },
  })
  const { url } = authorization.json() as { url: string }
  const started = await app.inject({ method: 'GET', url: new URL(url).pathname })
  t.equal(started.statusCode, 302)
  const setCookie = String(started.headers['set-cookie'])
  t.match(setCookie, /; Secure/, 'Secure, as PUBLIC_URL is https')
  const cookie = setCookie.split(';')[0] as string
  return { location: new URL(started.headers.location as string), cookie }
}

async function callback({ app }: Built, provider: string, query: Record<string, string>, cookie: string) {
  const res = await app.inject({
    method: 'GET',
    url: `/oauth/${provider}/callback?${new URLSearchParams(query)}`,
    headers: { cookie },
  })
  return res
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url')

t.test('glimesh', async (t) => {
  // https://glimesh.github.io/api-docs/docs/authentication/accesstoken/accesstoken/ (source:
  // https://github.com/Glimesh/api-docs/blob/master/content/docs/Authentication/AccessToken/AccessToken.md):
  // authorize at https://glimesh.tv/oauth/authorize?response_type=code&state=&client_id=&scope=&redirect_uri=;
  // exchange with POST https://glimesh.tv/api/oauth/token carrying grant_type=authorization_code, code,
  // redirect_uri, client_id and client_secret as parameters; the answer has access_token, created_at, expires_in,
  // refresh_token, scope, token_type. PKCE S256 per .../accesstoken/pkceauth/ (form-encoded body, code_verifier).
  const provider = fakeProvider()
  const env = await setup(t, provider.fetch, { id: 'glimesh', preset: 'glimesh' })
  t.match(env.provider, {
    authorizationEndpoint: 'https://glimesh.tv/oauth/authorize',
    tokenEndpoint: 'https://glimesh.tv/api/oauth/token',
    tokenEndpointAuthMethod: 'client_secret_post',
    redirectUri: `${PUBLIC_URL}/oauth/glimesh/callback`,
  })
  const { location, cookie } = await start(t, env, 'glimesh')
  t.equal(location.origin + location.pathname, 'https://glimesh.tv/oauth/authorize')
  const params = location.searchParams
  t.equal(params.get('response_type'), 'code')
  t.equal(params.get('client_id'), CLIENT_ID)
  t.equal(params.get('redirect_uri'), `${PUBLIC_URL}/oauth/glimesh/callback`)
  t.equal(params.get('scope'), 'public email chat streamkey follow stream_info', 'space-separated scopes')
  t.ok(params.get('state'))
  t.equal(params.get('code_challenge_method'), 'S256')
  t.notOk(params.has('nonce'), 'no nonce for a plain OAuth 2.0 provider')

  provider.answer(() => ({
    access_token: 'glimesh-access',
    created_at: '2020-12-14T15:15:29',
    expires_in: 21600,
    refresh_token: 'glimesh-refresh',
    scope: 'public email chat streamkey',
    token_type: 'bearer',
  }))
  const res = await callback(env, 'glimesh', { code: CODE, state: params.get('state') as string }, cookie)
  t.equal(res.headers.location, 'https://app.example.com/done?status=connected')

  const [request] = provider.tokenRequests
  t.equal(provider.tokenRequests.length, 1)
  t.equal(request?.method, 'POST')
  t.equal(request?.url, 'https://glimesh.tv/api/oauth/token')
  t.match(request?.headers.get('content-type'), /^application\/x-www-form-urlencoded/)
  t.notOk(request?.headers.has('authorization'), 'no Basic header: the secret travels as a parameter')
  t.same(Object.fromEntries(request?.body ?? []), {
    grant_type: 'authorization_code',
    code: CODE,
    redirect_uri: `${PUBLIC_URL}/oauth/glimesh/callback`,
    code_verifier: request?.body.get('code_verifier'),
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
  })
  t.equal(sha256(request?.body.get('code_verifier') ?? ''), params.get('code_challenge'), 'verifier matches')

  const connection = await env.db.prisma.connection.findFirstOrThrow({ where: { providerId: 'glimesh' } })
  t.equal(openAccessToken(env.app.deps.keyring, connection).reveal(), 'glimesh-access')
  t.equal(openRefreshToken(env.app.deps.keyring, connection)?.reveal(), 'glimesh-refresh')
  t.match(connection, { tokenType: 'Bearer', scope: 'public email chat streamkey', lifetimeSeconds: 21600 })
})

t.test('goto', async (t) => {
  // https://developer.goto.com/guides/Authentication/03_HOW_accessToken/ : authorize at
  // https://authentication.logmeininc.com/oauth/authorize?client_id={clientID}&response_type=code&redirect_uri=;
  // "Only the scopes set in your OAuth client will be requested" (no scope parameter). Exchange with POST
  // https://authentication.logmeininc.com/oauth/token, `Authorization: Basic base64(clientID:clientSecret)`, form
  // body grant_type=authorization_code&code=&redirect_uri=. Token responses as in
  // https://developer.goto.com/guides/Authentication/05_HOW_refreshToken/ may lack token_type.
  const provider = fakeProvider()
  const env = await setup(t, provider.fetch, { id: 'goto', preset: 'goto' })
  const { location, cookie } = await start(t, env, 'goto')
  t.equal(location.origin + location.pathname, 'https://authentication.logmeininc.com/oauth/authorize')
  t.equal(location.searchParams.get('client_id'), CLIENT_ID)
  t.equal(location.searchParams.get('response_type'), 'code')
  t.equal(location.searchParams.get('redirect_uri'), `${PUBLIC_URL}/oauth/goto/callback`)
  t.notOk(location.searchParams.has('scope'), 'scopes come from the OAuth client at GoTo')

  provider.answer(() => ({
    access_token: 'goto-access',
    refresh_token: 'goto-refresh',
    expires_in: 3600,
    principal: 'mahar.singh@company.com',
  }))
  const res = await callback(env, 'goto', { code: CODE, state: location.searchParams.get('state') as string }, cookie)
  t.equal(res.headers.location, 'https://app.example.com/done?status=connected')
  const [request] = provider.tokenRequests
  t.equal(request?.url, 'https://authentication.logmeininc.com/oauth/token')
  t.equal(
    request?.headers.get('authorization'),
    `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
    'plain base64 of clientId:clientSecret, as GoTo documents (not form-encoded first)',
  )
  t.equal(request?.body.get('grant_type'), 'authorization_code')
  t.equal(request?.body.get('code'), CODE)
  t.equal(request?.body.get('redirect_uri'), `${PUBLIC_URL}/oauth/goto/callback`)
  t.notOk(request?.body.has('client_secret'), 'the secret is only in the Basic header')
  const connection = await env.db.prisma.connection.findFirstOrThrow({ where: { providerId: 'goto' } })
  t.equal(connection.tokenType, 'Bearer', 'a response without token_type is a Bearer token')
  t.equal(openAccessToken(env.app.deps.keyring, connection).reveal(), 'goto-access')
})

t.test('auth0', async (t) => {
  // https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow/call-your-api-using-the-authorization-code-flow
  // authorize at https://{yourDomain}/authorize?response_type=code&client_id=&redirect_uri=&scope=&audience=&state=
  // (audience names the API; offline_access for a refresh token); exchange with POST https://{yourDomain}/oauth/token,
  // form body grant_type=authorization_code&client_id=&client_secret=&code=&redirect_uri=. The issuer, from
  // https://{yourDomain}/.well-known/openid-configuration, is https://{yourDomain}/ (with the trailing slash).
  const issuer = 'https://example.us.auth0.com/'
  const provider = fakeProvider({
    [`${issuer}.well-known/openid-configuration`]: oidcDiscovery(issuer, {
      authorize: '/authorize',
      token: '/oauth/token',
      revoke: '/oauth/revoke',
    }),
  })
  const env = await setup(t, provider.fetch, {
    id: 'auth0',
    preset: 'auth0',
    domain: 'example.us.auth0.com',
    audience: 'https://api.example.com',
  })
  t.match(env.provider, { issuer, authorizationParams: { audience: 'https://api.example.com' } })
  const { location, cookie } = await start(t, env, 'auth0')
  t.equal(location.origin + location.pathname, 'https://example.us.auth0.com/authorize')
  const params = location.searchParams
  t.equal(params.get('audience'), 'https://api.example.com')
  t.equal(params.get('scope'), 'openid profile email offline_access')
  t.equal(params.get('response_type'), 'code')
  t.equal(params.get('client_id'), CLIENT_ID)
  t.ok(params.get('nonce'), 'a nonce for the ID token')

  provider.answer(() => ({
    access_token: 'auth0-access',
    refresh_token: 'auth0-refresh',
    id_token: idToken({
      iss: issuer,
      aud: CLIENT_ID,
      sub: 'auth0|123',
      nonce: params.get('nonce'),
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 3600,
    }),
    scope: 'openid profile email offline_access',
    expires_in: 86400,
    token_type: 'Bearer',
  }))
  const res = await callback(env, 'auth0', { code: CODE, state: params.get('state') as string }, cookie)
  t.equal(res.headers.location, 'https://app.example.com/done?status=connected')
  const [request] = provider.tokenRequests
  t.equal(request?.url, 'https://example.us.auth0.com/oauth/token')
  t.notOk(request?.headers.has('authorization'))
  t.match(Object.fromEntries(request?.body ?? []), {
    grant_type: 'authorization_code',
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    code: CODE,
    redirect_uri: `${PUBLIC_URL}/oauth/auth0/callback`,
  })
  const connection = await env.db.prisma.connection.findFirstOrThrow({ where: { providerId: 'auth0' } })
  t.equal(connection.subject, 'auth0|123', 'the subject is the ID token sub')
})

t.test('oidc', async (t) => {
  // OpenID Connect Core 1.0 §3.1.2.1 (https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest): scope
  // contains openid, response_type=code, client_id, redirect_uri, state, nonce; §3.1.3.1 (#TokenRequest): POST
  // grant_type=authorization_code&code=&redirect_uri= with client_secret_basic (the default, §9 and RFC 6749
  // §2.3.1). Endpoints from Discovery 1.0 §4 at {issuer}/.well-known/openid-configuration.
  const issuer = 'https://login.example.com'
  const provider = fakeProvider({
    [`${issuer}/.well-known/openid-configuration`]: oidcDiscovery(issuer, { authorize: '/authorize', token: '/token' }),
  })
  const env = await setup(t, provider.fetch, { id: 'corp', preset: 'oidc', issuer, scopes: ['email'] })
  const { location, cookie } = await start(t, env, 'corp')
  t.equal(location.origin + location.pathname, 'https://login.example.com/authorize')
  t.equal(location.searchParams.get('scope'), 'openid email', 'openid is always requested from OIDC providers')
  t.ok(location.searchParams.get('nonce'))

  provider.answer(() => ({
    access_token: 'oidc-access',
    id_token: idToken({
      iss: issuer,
      aud: CLIENT_ID,
      sub: 'employee-7',
      nonce: location.searchParams.get('nonce'),
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 3600,
    }),
    token_type: 'Bearer',
  }))
  const res = await callback(env, 'corp', { code: CODE, state: location.searchParams.get('state') as string }, cookie)
  t.equal(res.headers.location, 'https://app.example.com/done?status=connected')
  const [request] = provider.tokenRequests
  t.equal(request?.url, 'https://login.example.com/token')
  // RFC 6749 §2.3.1: client id and secret are form-encoded, then joined and base64-encoded
  const basic = Buffer.from(request?.headers.get('authorization')?.replace(/^Basic /, '') ?? '', 'base64').toString()
  t.same(basic.split(':').map(decodeURIComponent), [CLIENT_ID, CLIENT_SECRET])
  t.same(Object.fromEntries(request?.body ?? []), {
    grant_type: 'authorization_code',
    code: CODE,
    redirect_uri: `${PUBLIC_URL}/oauth/corp/callback`,
    code_verifier: request?.body.get('code_verifier'),
  })
  const connection = await env.db.prisma.connection.findFirstOrThrow({ where: { providerId: 'corp' } })
  t.match(connection, { subject: 'employee-7', scope: 'openid email', refreshTokenEnc: null, nextRefreshAt: null })
})

t.test('an ID token for another nonce is refused', async (t) => {
  const issuer = 'https://login.example.com'
  const provider = fakeProvider({
    [`${issuer}/.well-known/openid-configuration`]: oidcDiscovery(issuer, { authorize: '/authorize', token: '/token' }),
  })
  const env = await setup(t, provider.fetch, { id: 'corp', preset: 'oidc', issuer })
  const { location, cookie } = await start(t, env, 'corp')
  provider.answer(() => ({
    access_token: 'oidc-access',
    id_token: idToken({
      iss: issuer,
      aud: CLIENT_ID,
      sub: 'employee-7',
      nonce: 'someone-elses-nonce',
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 3600,
    }),
    token_type: 'Bearer',
  }))
  const res = await callback(env, 'corp', { code: CODE, state: location.searchParams.get('state') as string }, cookie)
  t.equal(res.headers.location, 'https://app.example.com/done?status=error&error=exchange_failed')
  t.equal(await env.db.prisma.connection.count(), 0)
})

t.test('templates need their options', async (t) => {
  const env = await setup(t, fakeProvider().fetch, { id: 'ok', preset: 'goto' })
  const post = (payload: object) =>
    env.app.inject({
      method: 'POST',
      url: '/admin/providers',
      headers: adminHeaders,
      payload: { clientId: 'c', clientSecret: 's', ...payload },
    })
  const noDomain = await post({ id: 'a0', preset: 'auth0' })
  t.equal(noDomain.statusCode, 400)
  t.match(noDomain.json(), { error: 'invalid_request', message: /domain/ })
  t.equal((await post({ id: 'a1', preset: 'auth0', domain: 'https://evil/path' })).statusCode, 400)
  t.equal((await post({ id: 'o1', preset: 'oidc' })).statusCode, 400)
  t.equal((await post({ id: 'g1', preset: 'glimesh', audience: 'x' })).statusCode, 400, 'audience is auth0 only')
  const overridden = await post({ id: 'g2', preset: 'glimesh', scopes: ['public'], pkce: false })
  t.match(overridden.json(), { scopes: ['public'], pkce: false, tokenEndpoint: 'https://glimesh.tv/api/oauth/token' })
})

/**
 * Each catalogue template's requests as the provider documents them (at `docs`): where the browser goes and with
 * which parameters, where the code and the refresh token are exchanged, how the client authenticates, the body format.
 * OpenID Connect providers are reached by discovery: `discovery` holds the endpoints their documents name.
 */
interface Documented {
  docs: string
  connectionConfig?: Record<string, string>
  issuer?: string
  discovery?: { authorize: string; token: string }
  authorize: string
  /** The RFC 7009 revocation endpoint the provider documents, when there is one the broker can call. */
  revoke?: string
  /** How long a refresh token lasts, as the provider documents it: the template's rule where an answer does not say. */
  refreshTokenLifetimeSeconds?: number
  authorizeParams?: Record<string, string>
  /** Parameters the provider documents for the code exchange beyond RFC 6749's. */
  tokenParams?: Record<string, string>
  /** The parameter scopes go in and how they are joined; null: the provider takes no scope parameter. */
  scopes: { param: string; separator: ' ' | ',' } | null
  token: string
  refresh?: string
  auth: 'basic' | 'basic-plain' | 'post'
  body?: 'json'
  pkce: boolean
}

const space = { param: 'scope', separator: ' ' } as const
const comma = { param: 'scope', separator: ',' } as const

const documented: Record<string, Documented> = {
  glimesh: {
    docs: 'https://glimesh.github.io/api-docs/docs/authentication/accesstoken/accesstoken/',
    authorize: 'https://glimesh.tv/oauth/authorize',
    scopes: space,
    token: 'https://glimesh.tv/api/oauth/token',
    auth: 'post',
    pkce: true,
  },
  goto: {
    docs: 'https://developer.goto.com/guides/Authentication/03_HOW_accessToken/',
    authorize: 'https://authentication.logmeininc.com/oauth/authorize',
    scopes: null,
    token: 'https://authentication.logmeininc.com/oauth/token',
    auth: 'basic-plain',
    pkce: true,
  },
  auth0: {
    docs: 'https://auth0.com/docs/get-started/authentication-and-authorization-flow/authorization-code-flow/call-your-api-using-the-authorization-code-flow',
    connectionConfig: { domain: 'example.us.auth0.com', audience: 'https://api.example.com' },
    issuer: 'https://example.us.auth0.com/',
    discovery: { authorize: '/authorize', token: '/oauth/token' },
    authorize: 'https://example.us.auth0.com/authorize',
    authorizeParams: { audience: 'https://api.example.com' },
    scopes: space,
    token: 'https://example.us.auth0.com/oauth/token',
    auth: 'post',
    pkce: true,
  },
  oidc: {
    docs: 'https://openid.net/specs/openid-connect-discovery-1_0.html',
    issuer: 'https://login.example.com',
    discovery: { authorize: '/authorize', token: '/token' },
    authorize: 'https://login.example.com/authorize',
    scopes: space,
    token: 'https://login.example.com/token',
    auth: 'basic',
    pkce: true,
  },
  // https://developers.google.com/identity/protocols/oauth2/web-server#httprest_3: access_type=offline and
  // prompt=consent for a refresh token; credentials as parameters; endpoints from accounts.google.com's discovery
  // document, whose token endpoint is on oauth2.googleapis.com
  google: {
    docs: 'https://developers.google.com/identity/protocols/oauth2/web-server',
    issuer: 'https://accounts.google.com',
    discovery: { authorize: '/o/oauth2/v2/auth', token: 'https://oauth2.googleapis.com/token' },
    authorize: 'https://accounts.google.com/o/oauth2/v2/auth',
    authorizeParams: { access_type: 'offline', prompt: 'consent' },
    scopes: space,
    token: 'https://oauth2.googleapis.com/token',
    auth: 'post',
    pkce: true,
  },
  microsoft: {
    docs: 'https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow',
    connectionConfig: { tenant: 'contoso.onmicrosoft.com' },
    authorize: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize',
    scopes: space,
    token: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
    auth: 'post',
    pkce: true,
    // 90 days without use
    refreshTokenLifetimeSeconds: 7_776_000,
  },
  github: {
    docs: 'https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps',
    authorize: 'https://github.com/login/oauth/authorize',
    scopes: space,
    token: 'https://github.com/login/oauth/access_token',
    auth: 'post',
    pkce: true,
  },
  'github-app': {
    docs: 'https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens',
    authorize: 'https://github.com/login/oauth/authorize',
    scopes: null,
    token: 'https://github.com/login/oauth/access_token',
    auth: 'post',
    pkce: true,
    // six months (the answer says so too, in refresh_token_expires_in)
    refreshTokenLifetimeSeconds: 15_897_600,
  },
  gitlab: {
    docs: 'https://docs.gitlab.com/api/oauth2/',
    authorize: 'https://gitlab.com/oauth/authorize',
    scopes: space,
    token: 'https://gitlab.com/oauth/token',
    revoke: 'https://gitlab.com/oauth/revoke',
    auth: 'post',
    pkce: true,
  },
  slack: {
    docs: 'https://api.slack.com/authentication/oauth-v2',
    authorize: 'https://slack.com/oauth/v2/authorize',
    scopes: { param: 'user_scope', separator: ',' },
    token: 'https://slack.com/api/oauth.v2.access',
    // https://docs.slack.dev/reference/methods/oauth.v2.access: client credentials in HTTP Basic, as recommended
    auth: 'basic',
    pkce: false,
  },
  salesforce: {
    docs: 'https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm',
    authorize: 'https://login.salesforce.com/services/oauth2/authorize',
    scopes: space,
    token: 'https://login.salesforce.com/services/oauth2/token',
    revoke: 'https://login.salesforce.com/services/oauth2/revoke',
    auth: 'post',
    pkce: true,
  },
  hubspot: {
    docs: 'https://developers.hubspot.com/docs/api-reference/latest/authentication/manage-oauth-tokens',
    authorize: 'https://app.hubspot.com/oauth/authorize',
    scopes: space,
    // the date-versioned endpoints that replace v1 (deprecated on February 16, 2027)
    token: 'https://api.hubapi.com/oauth/2026-03/token',
    revoke: 'https://api.hubapi.com/oauth/2026-03/token/revoke',
    auth: 'post',
    pkce: true,
  },
  xero: {
    docs: 'https://developer.xero.com/documentation/guides/oauth2/auth-flow',
    issuer: 'https://identity.xero.com',
    // the discovery document of identity.xero.com sends the browser to login.xero.com
    discovery: { authorize: 'https://login.xero.com/identity/connect/authorize', token: '/connect/token' },
    authorize: 'https://login.xero.com/identity/connect/authorize',
    scopes: space,
    token: 'https://identity.xero.com/connect/token',
    revoke: 'https://identity.xero.com/connect/revocation',
    auth: 'basic',
    pkce: true,
    // 60 days without use
    refreshTokenLifetimeSeconds: 5_184_000,
  },
  quickbooks: {
    docs: 'https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0',
    authorize: 'https://appcenter.intuit.com/connect/oauth2',
    scopes: space,
    token: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
    auth: 'basic',
    pkce: true,
    // 100 days, rolling (https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/faq)
    refreshTokenLifetimeSeconds: 8_640_000,
  },
  zendesk: {
    docs: 'https://developer.zendesk.com/api-reference/ticketing/oauth/grant_type_tokens/',
    connectionConfig: { subdomain: 'acme' },
    authorize: 'https://acme.zendesk.com/oauth/authorizations/new',
    scopes: space,
    token: 'https://acme.zendesk.com/oauth/tokens',
    auth: 'post',
    body: 'json',
    pkce: true,
  },
  shopify: {
    docs: 'https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/authorization-code-grant',
    connectionConfig: { shop: 'acme-store' },
    authorize: 'https://acme-store.myshopify.com/admin/oauth/authorize',
    scopes: comma,
    token: 'https://acme-store.myshopify.com/admin/oauth/access_token',
    // expiring offline tokens, with a refresh token (https://shopify.dev/changelog/offline-access-tokens-now-support-expiry-and-refresh)
    tokenParams: { expiring: '1' },
    auth: 'post',
    pkce: false,
  },
  notion: {
    docs: 'https://developers.notion.com/docs/authorization',
    authorize: 'https://api.notion.com/v1/oauth/authorize',
    authorizeParams: { owner: 'user' },
    scopes: null,
    token: 'https://api.notion.com/v1/oauth/token',
    auth: 'basic-plain',
    body: 'json',
    pkce: false,
  },
  atlassian: {
    docs: 'https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/',
    authorize: 'https://auth.atlassian.com/authorize',
    authorizeParams: { audience: 'api.atlassian.com', prompt: 'consent' },
    scopes: space,
    token: 'https://auth.atlassian.com/oauth/token',
    auth: 'post',
    body: 'json',
    pkce: true,
  },
  dropbox: {
    docs: 'https://developers.dropbox.com/oauth-guide',
    authorize: 'https://www.dropbox.com/oauth2/authorize',
    authorizeParams: { token_access_type: 'offline' },
    scopes: space,
    token: 'https://api.dropboxapi.com/oauth2/token',
    auth: 'basic',
    pkce: true,
  },
  box: {
    docs: 'https://developer.box.com/guides/authentication/oauth2/',
    authorize: 'https://account.box.com/api/oauth2/authorize',
    scopes: null,
    token: 'https://api.box.com/oauth2/token',
    revoke: 'https://api.box.com/oauth2/revoke',
    auth: 'post',
    pkce: true,
  },
  zoom: {
    docs: 'https://developers.zoom.us/docs/integrations/oauth/',
    authorize: 'https://zoom.us/oauth/authorize',
    scopes: null,
    token: 'https://zoom.us/oauth/token',
    revoke: 'https://zoom.us/oauth/revoke',
    auth: 'basic',
    pkce: true,
  },
  linkedin: {
    docs: 'https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow',
    authorize: 'https://www.linkedin.com/oauth/v2/authorization',
    scopes: space,
    token: 'https://www.linkedin.com/oauth/v2/accessToken',
    revoke: 'https://www.linkedin.com/oauth/v2/revoke',
    auth: 'post',
    // PKCE is documented for native apps LinkedIn enables on request only (authorization-code-flow-native)
    pkce: false,
  },
  spotify: {
    docs: 'https://developer.spotify.com/documentation/web-api/tutorials/code-flow',
    authorize: 'https://accounts.spotify.com/authorize',
    scopes: space,
    token: 'https://accounts.spotify.com/api/token',
    auth: 'basic',
    pkce: true,
  },
  twitch: {
    docs: 'https://dev.twitch.tv/docs/authentication/getting-tokens-oauth/#authorization-code-grant-flow',
    authorize: 'https://id.twitch.tv/oauth2/authorize',
    scopes: space,
    token: 'https://id.twitch.tv/oauth2/token',
    auth: 'post',
    pkce: true,
  },
  discord: {
    docs: 'https://discord.com/developers/docs/topics/oauth2',
    authorize: 'https://discord.com/oauth2/authorize',
    scopes: space,
    token: 'https://discord.com/api/oauth2/token',
    revoke: 'https://discord.com/api/oauth2/token/revoke',
    auth: 'basic',
    pkce: true,
  },
  asana: {
    docs: 'https://developers.asana.com/docs/oauth',
    authorize: 'https://app.asana.com/-/oauth_authorize',
    scopes: space,
    token: 'https://app.asana.com/-/oauth_token',
    revoke: 'https://app.asana.com/-/oauth_revoke',
    auth: 'post',
    pkce: true,
  },
  linear: {
    docs: 'https://linear.app/developers/oauth-2-0-authentication',
    authorize: 'https://linear.app/oauth/authorize',
    scopes: comma,
    token: 'https://api.linear.app/oauth/token',
    revoke: 'https://api.linear.app/oauth/revoke',
    auth: 'post',
    pkce: true,
  },
  figma: {
    docs: 'https://developers.figma.com/docs/rest-api/authentication/',
    authorize: 'https://www.figma.com/oauth',
    scopes: space,
    token: 'https://api.figma.com/v1/oauth/token',
    refresh: 'https://api.figma.com/v1/oauth/refresh',
    auth: 'basic',
    // PKCE is not in the docs read; Nango's providers.yaml disables it too
    pkce: false,
  },
  okta: {
    docs: 'https://developer.okta.com/docs/guides/implement-grant-type/authcode/main/',
    connectionConfig: { domain: 'example.okta.com' },
    issuer: 'https://example.okta.com/oauth2/default',
    discovery: { authorize: '/oauth2/default/v1/authorize', token: '/oauth2/default/v1/token' },
    authorize: 'https://example.okta.com/oauth2/default/v1/authorize',
    scopes: space,
    token: 'https://example.okta.com/oauth2/default/v1/token',
    auth: 'basic',
    pkce: true,
  },
  keycloak: {
    docs: 'https://www.keycloak.org/securing-apps/oidc-layers',
    connectionConfig: { host: 'sso.example.com', realm: 'staff' },
    issuer: 'https://sso.example.com/realms/staff',
    discovery: {
      authorize: '/realms/staff/protocol/openid-connect/auth',
      token: '/realms/staff/protocol/openid-connect/token',
    },
    authorize: 'https://sso.example.com/realms/staff/protocol/openid-connect/auth',
    scopes: space,
    token: 'https://sso.example.com/realms/staff/protocol/openid-connect/token',
    auth: 'basic',
    pkce: true,
  },
  intercom: {
    docs: 'https://developers.intercom.com/docs/build-an-integration/learn-more/authentication/setting-up-oauth',
    authorize: 'https://app.intercom.com/oauth',
    scopes: null,
    token: 'https://api.intercom.io/auth/eagle/token',
    auth: 'post',
    pkce: false,
  },
  pipedrive: {
    docs: 'https://pipedrive.readme.io/docs/marketplace-oauth-authorization',
    authorize: 'https://oauth.pipedrive.com/oauth/authorize',
    scopes: null,
    token: 'https://oauth.pipedrive.com/oauth/token',
    revoke: 'https://oauth.pipedrive.com/oauth/revoke',
    auth: 'basic',
    // the authorization request documents client_id, redirect_uri and state only
    pkce: false,
  },
  calendly: {
    docs: 'https://developer.calendly.com/how-to-access-calendly-data-on-behalf-of-authenticated-users',
    authorize: 'https://auth.calendly.com/oauth/authorize',
    scopes: null,
    token: 'https://auth.calendly.com/oauth/token',
    revoke: 'https://auth.calendly.com/oauth/revoke',
    auth: 'basic',
    pkce: true,
  },
  mailchimp: {
    docs: 'https://mailchimp.com/developer/marketing/guides/access-user-data-oauth-2/',
    authorize: 'https://login.mailchimp.com/oauth2/authorize',
    scopes: null,
    token: 'https://login.mailchimp.com/oauth2/token',
    auth: 'post',
    pkce: false,
  },
}

/** What a client authentication method looks like on the wire. */
function assertClientAuth(t: Test, request: Recorded | undefined, auth: Documented['auth'], name: string) {
  const header = request?.headers.get('authorization') ?? ''
  if (auth === 'post') {
    t.equal(header, '', `${name}: no Basic header`)
    t.equal(request?.body.get('client_id'), CLIENT_ID, `${name}: client_id as a parameter`)
    t.equal(request?.body.get('client_secret'), CLIENT_SECRET, `${name}: client_secret as a parameter`)
    return
  }
  const decoded = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString()
  const [id = '', secret = ''] = decoded.split(':')
  t.same(auth === 'basic' ? [decodeURIComponent(id), decodeURIComponent(secret)] : [id, secret], [
    CLIENT_ID,
    CLIENT_SECRET,
  ])
  t.notOk(request?.body.has('client_secret'), `${name}: the secret only in the Basic header`)
}

t.test('every catalogue template renders its documented requests', async (t) => {
  const { templates } = await import('../../src/providers/templates/catalogue.js').then((m) => ({
    templates: m.builtinTemplates(),
  }))
  t.same(templates.map((template) => template.name).sort(), Object.keys(documented).sort(), 'a documented shape each')
  t.ok(templates.length >= 30, `${templates.length} templates`)

  const discovery: Record<string, object> = {}
  for (const shape of Object.values(documented)) {
    if (shape.issuer && shape.discovery) {
      discovery[`${shape.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`] = oidcDiscovery(
        shape.issuer,
        shape.discovery,
      )
    }
  }
  const provider = fakeProvider(discovery)
  const built = await build(t, { fetch: provider.fetch, config: { PUBLIC_URL: new URL(PUBLIC_URL) } })
  const admin = (method: 'POST' | 'GET', url: string, payload?: object) =>
    built.app.inject({ method, url, headers: adminHeaders, ...(payload ? { payload } : {}) })
  // every provider first: a caller may be allowed only providers that exist
  for (const template of templates) {
    const name = template.name
    const shape = documented[name] as Documented
    const created = await admin('POST', '/admin/providers', {
      id: name,
      template: name,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      ...(shape.connectionConfig ? { connectionConfig: shape.connectionConfig } : {}),
      ...(name === 'oidc' ? { issuer: shape.issuer } : {}),
    })
    t.equal(created.statusCode, 201, `${name}: created (${created.body.slice(0, 200)})`)
    t.equal(template.docsUrl, shape.docs, `${name}: the template cites the documentation checked here`)
    t.equal(
      (created.json() as { revocationEndpoint?: string | null }).revocationEndpoint ?? undefined,
      shape.revoke,
      `${name}: revocation endpoint`,
    )
    t.equal(
      (created.json() as { refreshTokenLifetimeSeconds?: number | null }).refreshTokenLifetimeSeconds ?? undefined,
      shape.refreshTokenLifetimeSeconds,
      `${name}: refresh token lifetime`,
    )
  }
  const caller = await admin('POST', '/admin/clients', {
    name: 'catalogue',
    allowedProviders: Object.keys(documented),
    allowedReturnTo: ['https://app.example.com/'],
  })
  t.equal(caller.statusCode, 201, caller.body)
  const env = { ...built, apiKey: (caller.json() as { apiKey: string }).apiKey }

  for (const template of templates) {
    const name = template.name
    const shape = documented[name] as Documented
    const { location, cookie } = await start(t, env, name)
    const params = location.searchParams
    t.equal(location.origin + location.pathname, shape.authorize, `${name}: authorization endpoint`)
    t.equal(params.get('response_type'), 'code', `${name}: response_type`)
    t.equal(params.get('client_id'), CLIENT_ID, `${name}: client_id`)
    t.equal(params.get('redirect_uri'), `${PUBLIC_URL}/oauth/${name}/callback`, `${name}: redirect_uri`)
    t.match(Object.fromEntries(params), shape.authorizeParams ?? {}, `${name}: documented parameters`)
    const scopes = template.scopes ?? []
    if (shape.scopes && scopes.length > 0) {
      t.equal(params.get(shape.scopes.param), scopes.join(shape.scopes.separator), `${name}: scopes as documented`)
    } else {
      t.notOk(params.has('scope'), `${name}: no scope parameter`)
    }
    t.equal(params.get('code_challenge_method'), shape.pkce ? 'S256' : null, `${name}: PKCE`)
    t.equal(params.has('code_challenge'), shape.pkce, `${name}: a code_challenge only with PKCE`)

    provider.tokenRequests.length = 0
    provider.answer(() => ({
      access_token: `${name}-access`,
      refresh_token: `${name}-refresh`,
      expires_in: 3600,
      token_type: 'bearer',
      ...(params.get('nonce')
        ? {
            id_token: idToken({
              iss: shape.issuer,
              aud: CLIENT_ID,
              sub: `${name}-user`,
              nonce: params.get('nonce'),
              iat: Math.floor(Date.now() / 1000),
              exp: Math.floor(Date.now() / 1000) + 3600,
            }),
          }
        : {}),
    }))
    const res = await callback(env, name, { code: CODE, state: params.get('state') as string }, cookie)
    t.equal(res.headers.location, 'https://app.example.com/done?status=connected', `${name}: connected`)
    const [exchange] = provider.tokenRequests
    t.equal(exchange?.url, shape.token, `${name}: token endpoint`)
    t.equal(exchange?.json, shape.body === 'json', `${name}: token request body ${shape.body ?? 'form'}`)
    t.equal(exchange?.body.get('grant_type'), 'authorization_code')
    t.equal(exchange?.body.get('code'), CODE)
    t.equal(exchange?.body.get('redirect_uri'), `${PUBLIC_URL}/oauth/${name}/callback`)
    t.equal(exchange?.body.has('code_verifier'), shape.pkce, `${name}: a code_verifier only with PKCE`)
    t.match(Object.fromEntries(exchange?.body ?? []), shape.tokenParams ?? {}, `${name}: documented token parameters`)
    assertClientAuth(t, exchange, shape.auth, `${name} exchange`)

    const connection = await built.db.prisma.connection.findFirstOrThrow({ where: { providerId: name } })
    provider.tokenRequests.length = 0
    provider.answer(() => ({ access_token: `${name}-access-2`, expires_in: 3600, token_type: 'bearer' }))
    const refreshed = await admin('POST', `/admin/connections/${connection.id}/refresh`)
    t.equal(refreshed.statusCode, 200, `${name}: refreshed (${refreshed.body.slice(0, 200)})`)
    const [refresh] = provider.tokenRequests
    t.equal(refresh?.url, shape.refresh ?? shape.token, `${name}: refresh endpoint`)
    t.equal(refresh?.json, shape.body === 'json', `${name}: refresh request body ${shape.body ?? 'form'}`)
    t.equal(refresh?.body.get('grant_type'), 'refresh_token')
    t.equal(refresh?.body.get('refresh_token'), `${name}-refresh`)
    assertClientAuth(t, refresh, shape.auth, `${name} refresh`)
  }
})
