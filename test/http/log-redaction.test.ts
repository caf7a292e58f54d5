import { randomBytes } from 'node:crypto'
import t from 'tap'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import { adminHeaders, connectUser, startFlowEnv } from '../support/flow.js'

const secret = (name: string) => `${name}-${randomBytes(12).toString('hex')}`

t.test('no header, cookie, code, state, token or secret reaches the log', async (t) => {
  const { app, logs } = await build(t, { config: { LOG_LEVEL: 'trace' } })
  const s = {
    apiKey: secret('apikey'),
    cookie: secret('cookie'),
    code: secret('code'),
    state: secret('state'),
    clientSecret: secret('clientsecret'),
    bodyApiKey: secret('bodyapikey'),
    refreshToken: secret('refresh'),
    accessToken: secret('access'),
    idToken: secret('idtoken'),
    verifier: secret('verifier'),
    truncated: secret('truncated'),
  }
  const query = `code=${s.code}&state=${s.state}`
  const requests = [
    {
      method: 'GET',
      url: '/admin/audit',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, cookie: `tb=${s.cookie}` },
    },
    { method: 'GET', url: '/admin/connections', headers: { authorization: `Bearer ${s.apiKey}` } },
    { method: 'GET', url: `/oauth/acme/callback?${query}`, headers: { cookie: `tb_flow=${s.cookie}` } },
    { method: 'GET', url: `/admin/connections?${query}`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
    { method: 'GET', url: `/nowhere?${query}` },
    {
      method: 'POST',
      url: '/admin/providers',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { id: 'acme', clientId: 'acme', clientSecret: s.clientSecret, issuer: 'https://idp.example' },
    },
    {
      method: 'POST',
      url: '/admin/clients',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { name: 'x', apiKey: s.bodyApiKey },
    },
    {
      method: 'POST',
      url: '/admin/providers',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      payload: `{"clientSecret":"${s.truncated}`,
    },
  ] as const
  const issued: string[] = [] // secrets the broker itself hands out, such as a new caller's API key
  for (const request of requests) {
    const res = await app.inject(request)
    const { apiKey } = (res.headers['content-type']?.toString().startsWith('application/json') ? res.json() : {}) as {
      apiKey?: string
    }
    if (apiKey) issued.push(apiKey)
  }

  // what services might log: a token response, a nested error, a provider's error carrying the body as cause
  app.log.info({ access_token: s.accessToken, refresh_token: s.refreshToken, code: s.code }, 'top level')
  app.log.info({ tokens: { accessToken: s.accessToken, idToken: s.idToken, codeVerifier: s.verifier } }, 'nested')
  app.log.info({ request: { headers: { authorization: `Bearer ${s.apiKey}`, cookie: s.cookie } } }, 'headers')
  const failure = Object.assign(new Error('token endpoint failed', { cause: { refresh_token: s.refreshToken } }), {
    code: 'OAUTH_INVALID_RESPONSE',
  })
  app.log.warn({ err: failure, provider: 'acme' }, 'refresh failed')

  const text = logs.text
  t.ok(logs.lines.length >= requests.length * 2, 'the requests were logged')
  t.match(text, /"incoming request"/)
  for (const [name, value] of Object.entries(s)) t.notOk(text.includes(value), `${name} is not in the log`)
  for (const apiKey of issued) t.notOk(text.includes(apiKey), 'an issued API key is not in the log')
  t.notOk(text.includes(ADMIN_TOKEN), 'the admin token is not in the log')
  t.match(text, /\[redacted\]/, 'redacted values are marked')
  t.match(text, /"errorCode":"OAUTH_INVALID_RESPONSE"/, "an error's own code stays readable")
})

t.test('a whole flow, token requests and refreshes leave no secret in the log', async (t) => {
  const env = await startFlowEnv(t, { app: { background: false, config: { LOG_LEVEL: 'trace' } } })
  const { keyring } = env.app.deps
  const secrets = new Map<string, string>([
    ['admin token', ADMIN_TOKEN],
    ['API key', env.caller.apiKey],
    ['client secret', env.clientSecret],
  ])
  const remember = (row: { id: string; accessTokenEnc: Uint8Array; refreshTokenEnc: Uint8Array | null }) => {
    secrets.set(`access token ${secrets.size}`, openAccessToken(keyring, row).reveal())
    const refreshToken = openRefreshToken(keyring, row)?.reveal()
    if (refreshToken) secrets.set(`refresh token ${secrets.size}`, refreshToken)
  }

  const { connection, authorizationId, callbackUrl, cookie } = await connectUser(env, { userId: 'alice' })
  remember(connection)
  secrets.set('start link id', authorizationId)
  secrets.set('authorization code', callbackUrl.searchParams.get('code') ?? '')
  secrets.set('state', callbackUrl.searchParams.get('state') ?? '')
  secrets.set('flow cookie', cookie.split('=').slice(1).join('='))

  const url = `/tokens/alice?provider=${env.providerId}`
  t.equal((await env.app.inject({ method: 'GET', url, headers: env.caller.headers })).statusCode, 200)
  const refreshed = await env.app.inject({
    method: 'POST',
    url: `/admin/connections/${connection.id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(refreshed.statusCode, 200)
  remember(await env.db.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } }))
  // a scope that is not a string: openid-client rejects the response and keeps its body as the error's cause
  env.server.setTokenFault({
    kind: 'garbage',
    body: '{"access_token":"leaky-token-in-a-bad-response","token_type":"Bearer","scope":1}',
    contentType: 'application/json',
  })
  secrets.set('token in a malformed response', 'leaky-token-in-a-bad-response')
  const malformed = await env.app.inject({
    method: 'POST',
    url: `/admin/connections/${connection.id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(malformed.statusCode, 503, 'the malformed response is refused')
  env.server.setTokenFault(null)
  const deleted = await env.app.inject({ method: 'DELETE', url: '/connections/idp/alice', headers: env.caller.headers })
  t.equal(deleted.statusCode, 204)

  const text = env.logs.text
  t.ok(env.logs.lines.length > 10, 'the flow was logged')
  for (const [name, value] of secrets) {
    t.ok(value.length >= 8, `${name} is known`)
    t.notOk(text.includes(value), `${name} is not in the log`)
  }
})

t.test('censoring copies what it censors: the logged objects stay as they were', async (t) => {
  const { app, logs } = await build(t, { config: { LOG_LEVEL: 'info' } })
  const headers = { authorization: 'Bearer live-key', accept: 'application/json' }
  const answer = { status: 400, body: { error: 'invalid_grant', refresh_token: 'rt-in-a-body' }, headers }
  const failure = Object.assign(new Error('refused'), { refresh_token: 'rt-on-an-error' })
  app.log.info({ answer, failure, plain: { provider: 'acme' } }, 'answer')
  app.log.child({ token: 'bound-token', connectionId: 'c-1' }).info('bound')
  app.log.child({ grant: { refresh_token: 'deep-binding-rt', scope: 'read' } }).info('nested binding')
  app.log
    .child({ deliveryId: 'd-1' })
    .child({ target: { headers: { authorization: 'Bearer grandchild-key' } } })
    .info('a child of a child')
  app.log.info({ headers: { token: 'header-token' }, res: { statusCode: 200, access_token: 'res-token' } }, 'more')
  const unreadable = Object.defineProperty({}, 'token_source', {
    enumerable: true,
    get() {
      throw new Error('no')
    },
  })
  t.doesNotThrow(() => app.log.info({ unreadable, refresh_token_hint: 'x' }, 'unreadable'), 'a throwing getter')
  t.equal(headers.authorization, 'Bearer live-key', 'headers unchanged')
  t.equal(answer.body.refresh_token, 'rt-in-a-body', 'body unchanged')
  t.equal(failure.refresh_token, 'rt-on-an-error', 'error unchanged')
  for (const value of [
    'live-key',
    'rt-in-a-body',
    'rt-on-an-error',
    'bound-token',
    'deep-binding-rt',
    'grandchild-key',
    'header-token',
    'res-token',
  ]) {
    t.notOk(logs.text.includes(value), `${value}: not in the log`)
  }
  const line = logs.lines
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .find((entry) => entry.msg === 'answer') as
    { answer: { headers: Record<string, string> }; plain: unknown } | undefined
  t.equal(line?.answer.headers.accept, 'application/json', 'what is not secret stays')
  t.equal(line?.answer.headers.authorization, '[redacted]')
  t.same(line?.plain, { provider: 'acme' })
  t.match(logs.text, /"connectionId":"c-1"/)
  t.match(logs.text, /"grant":\{"refresh_token":"\[redacted\]","scope":"read"\}/, "a child logger's bindings, nested")
  t.match(logs.text, /"res":\{"statusCode":200\}/, 'a reply is written as its status')
  t.match(logs.text, /"msg":"unreadable"/, 'the line with an unreadable field is still written')
})
