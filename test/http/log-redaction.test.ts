import { randomBytes } from 'node:crypto'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'

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
