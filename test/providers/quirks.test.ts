// Each quirk class real providers have, through the catalogue template of a provider that has it and the local quirks
// server answering as that provider documents: the flow, GET /tokens, then the first refresh. A dead refresh token
// must end the connection (reauthorization_required) at that first refresh; a transient failure must leave it active.
import t, { type Test } from 'tap'
import { openRefreshToken } from '../../src/services/connection-tokens.js'
import { build } from '../helper.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'
import { startQuirksServer, type QuirkAnswer, type QuirksOptions } from '../support/quirks-server.js'

const PUBLIC_URL = 'https://broker.example.com'

async function world(t: Test, quirks: QuirksOptions, provider: Record<string, unknown> & { id: string }) {
  const server = await startQuirksServer(t, quirks)
  const built = await build(t, { fetch: server.fetch, config: { PUBLIC_URL: new URL(PUBLIC_URL) } })
  const { app } = built
  const created = await app.inject({
    method: 'POST',
    url: '/admin/providers',
    headers: adminHeaders,
    payload: { clientId: 'quirks-client', clientSecret: 'quirks-secret', ...provider },
  })
  t.equal(created.statusCode, 201, created.body)
  const caller = await createCaller(app, { allowedProviders: [provider.id], allowedReturnTo: ['https://app.example/'] })
  const connection = (userId: string) =>
    built.db.prisma.connection.findUniqueOrThrow({
      where: { namespace_providerId_userId: { namespace: 'default', providerId: provider.id, userId } },
    })

  return {
    ...built,
    server,
    connection,
    async connect(userId: string) {
      const authorization = await app.inject({
        method: 'POST',
        url: '/authorizations',
        headers: caller.headers,
        payload: { provider: provider.id, userId, returnTo: 'https://app.example/done' },
      })
      const started = await app.inject({ method: 'GET', url: new URL(authorization.json().url).pathname })
      const location = new URL(started.headers.location as string)
      const callback = server.authorize(location)
      const res = await app.inject({
        method: 'GET',
        url: callback.pathname + callback.search,
        headers: { cookie: String(started.headers['set-cookie']).split(';')[0] as string },
      })
      t.equal(res.headers.location, 'https://app.example/done?status=connected', 'the flow connects')
      return location
    },
    token: (userId: string) =>
      app.inject({ method: 'GET', url: `/tokens/${userId}?provider=${provider.id}`, headers: caller.headers }),
    async refresh(userId: string) {
      const { id } = await connection(userId)
      return app.inject({ method: 'POST', url: `/admin/connections/${id}/refresh`, headers: adminHeaders })
    },
  }
}

type World = Awaited<ReturnType<typeof world>>

/** The first refresh after the provider killed the grant ends the connection; GET /tokens then answers 409. */
async function deadAtFirstRefresh(t: Test, env: World, userId: string) {
  env.server.kill()
  const before = env.server.requests.length
  const refreshed = await env.refresh(userId)
  t.equal(env.server.requests.length, before + 1, 'one refresh request')
  t.equal(refreshed.statusCode, 409, refreshed.body)
  t.equal(refreshed.json().error, 'reauthorization_required')
  t.match(await env.connection(userId), { status: 'reauthorization_required', nextRefreshAt: null })
  t.equal((await env.token(userId)).statusCode, 409, 'GET /tokens: reauthorization_required')
}

/** A transient failure leaves the connection active, its refresh token kept, with the error recorded. */
async function transientStaysActive(t: Test, env: World, userId: string, answer: QuirkAnswer) {
  const before = await env.connection(userId)
  env.server.failNext(answer)
  const refreshed = await env.refresh(userId)
  t.equal(refreshed.statusCode, 503, refreshed.body)
  const after = await env.connection(userId)
  t.match(after, { status: 'active', failureCount: 1 })
  t.ok(after.lastError, 'the failure is recorded')
  t.equal(
    openRefreshToken(env.app.deps.keyring, after)?.reveal(),
    openRefreshToken(env.app.deps.keyring, before)?.reveal(),
    'the refresh token is kept',
  )
}

t.test('200 with an error body (GitHub App): dead at the first refresh; an HTML 502 is transient', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens }) => ({
        body: {
          access_token: tokens.access,
          expires_in: 28800,
          refresh_token: tokens.refresh,
          refresh_token_expires_in: 15897600,
          scope: '',
          token_type: 'bearer',
        },
      }),
      dead: {
        status: 200,
        body: {
          error: 'bad_refresh_token',
          error_description: 'The refresh token passed is incorrect or expired.',
          error_uri: 'https://docs.github.com',
        },
      },
    },
    { id: 'gh', template: 'github-app' },
  )
  await env.connect('u1')
  t.equal((await env.token('u1')).statusCode, 200)
  t.match(await env.connection('u1'), { lifetimeSeconds: 28800 })
  await transientStaysActive(t, env, 'u1', { status: 502, body: '<html>Bad Gateway</html>', contentType: 'text/html' })
  await deadAtFirstRefresh(t, env, 'u1')
})

t.test('GitHub: bad_refresh_token is a dead grant whatever the status; a wrong client secret is ours', async (t) => {
  const answer: QuirksOptions['answer'] = ({ tokens }) => ({
    body: {
      access_token: tokens.access,
      expires_in: 28800,
      refresh_token: tokens.refresh,
      refresh_token_expires_in: 15897600,
      scope: '',
      token_type: 'bearer',
    },
  })
  const badRefreshToken = {
    error: 'bad_refresh_token',
    error_description: 'The refresh token passed is incorrect or expired.',
    error_uri: 'https://docs.github.com',
  }
  for (const template of ['github', 'github-app']) {
    for (const status of [200, 400]) {
      const env = await world(t, { answer, dead: { status, body: badRefreshToken } }, { id: 'gh', template })
      await env.connect('u1')
      await transientStaysActive(t, env, 'u1', { status: 503, body: { message: 'Service Unavailable' } })
      await deadAtFirstRefresh(t, env, 'u1')
    }
  }

  for (const status of [200, 401]) {
    const env = await world(t, { answer }, { id: 'gh', template: 'github' })
    await env.connect('u1')
    env.server.failNext({
      status,
      body: { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed.' },
    })
    const refreshed = await env.refresh('u1')
    t.not(refreshed.json().error, 'reauthorization_required', `HTTP ${status}: ${refreshed.body}`)
    t.match(await env.connection('u1'), { status: 'active' }, `HTTP ${status}: the connection stays active`)
    const provider = await env.db.prisma.provider.findUniqueOrThrow({ where: { id: 'gh' } })
    t.equal(provider.credentialsStatus, 'invalid_client', `HTTP ${status}: the provider's credentials are flagged`)
  }
})

t.test('form-encoded answers and errors (GitHub without Accept: application/json)', async (t) => {
  const form = 'application/x-www-form-urlencoded; charset=utf-8'
  const env = await world(
    t,
    {
      answer: ({ tokens }) => ({
        contentType: form,
        body: new URLSearchParams({
          access_token: tokens.access,
          expires_in: '28800',
          refresh_token: tokens.refresh,
          scope: 'repo,gist',
          token_type: 'bearer',
        }).toString(),
      }),
      dead: { status: 200, contentType: form, body: 'error=bad_refresh_token&error_description=expired' },
    },
    { id: 'gh', template: 'github-app' },
  )
  await env.connect('u1')
  const token = await env.token('u1')
  t.equal(token.statusCode, 200)
  t.match(token.json(), { tokenType: 'Bearer', scope: 'repo gist' }, 'comma-separated scopes read as a list')
  t.match(await env.connection('u1'), { lifetimeSeconds: 28800 }, 'expires_in from a form, as a number')
  await deadAtFirstRefresh(t, env, 'u1')
})

t.test('errors in fields of their own (HubSpot status, Twitch message); 429 is transient', async (t) => {
  const answer: QuirksOptions['answer'] = ({ tokens }) => ({
    body: { token_type: 'bearer', refresh_token: tokens.refresh, access_token: tokens.access, expires_in: 1800 },
  })
  const hubspot = await world(
    t,
    {
      answer,
      dead: { status: 400, body: { status: 'BAD_REFRESH_TOKEN', message: 'missing or invalid refresh token' } },
    },
    { id: 'hubspot', template: 'hubspot' },
  )
  await hubspot.connect('u1')
  await transientStaysActive(t, hubspot, 'u1', {
    status: 429,
    body: { status: 'error', message: 'You have reached your secondly limit.', errorType: 'RATE_LIMIT' },
  })
  await deadAtFirstRefresh(t, hubspot, 'u1')

  const twitch = await world(
    t,
    { answer, dead: { status: 400, body: { status: 400, message: 'Invalid refresh token' } } },
    { id: 'twitch', template: 'twitch' },
  )
  await twitch.connect('u1')
  await deadAtFirstRefresh(t, twitch, 'u1')
})

t.test(
  'Microsoft: a refresh that needs the user to sign in again (interaction_required) ends the connection',
  async (t) => {
    const answer: QuirksOptions['answer'] = ({ tokens }) => ({
      body: {
        token_type: 'Bearer',
        scope: 'User.Read',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: tokens.access,
        refresh_token: tokens.refresh,
      },
    })
    const signInAgain: QuirkAnswer[] = [
      {
        status: 400,
        body: {
          error: 'interaction_required',
          error_description: 'AADSTS50076: you must use multi-factor authentication to access this resource.',
          error_codes: [50076],
          suberror: 'basic_action',
        },
      },
      {
        status: 400,
        body: {
          error: 'consent_required',
          error_description: 'AADSTS65001: The user or administrator has not consented to use the application.',
          error_codes: [65001],
        },
      },
      {
        status: 400,
        body: {
          error: 'invalid_grant',
          error_description: 'AADSTS65001: The user or administrator has not consented to use the application.',
          error_codes: [65001],
          suberror: 'consent_required',
        },
      },
    ]
    for (const dead of signInAgain) {
      const env = await world(
        t,
        { answer, dead },
        { id: 'entra', template: 'microsoft', connectionConfig: { tenant: 'contoso.onmicrosoft.com' } },
      )
      await env.connect('u1')
      await transientStaysActive(t, env, 'u1', {
        status: 503,
        body: { error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred.' },
      })
      await deadAtFirstRefresh(t, env, 'u1')
      t.match(env.server.requests.at(-1), {
        host: 'login.microsoftonline.com',
        path: '/contoso.onmicrosoft.com/oauth2/v2.0/token',
      })
    }
  },
)

t.test('Shopify: the token request asks for an expiring offline token, which refreshes', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens, request }) => ({
        body:
          request.params.expiring === '1' || request.params.grant_type === 'refresh_token'
            ? {
                access_token: tokens.access,
                scope: 'read_products',
                expires_in: 3600,
                refresh_token: tokens.refresh,
                refresh_token_expires_in: 7776000,
              }
            : { access_token: tokens.access, scope: 'read_products' },
      }),
    },
    { id: 'shop-acme', template: 'shopify', connectionConfig: { shop: 'acme-store' } },
  )
  await env.connect('u1')
  t.match(env.server.requests[0], {
    host: 'acme-store.myshopify.com',
    path: '/admin/oauth/access_token',
    params: { grant_type: 'authorization_code', expiring: '1', client_id: 'quirks-client' },
  })
  t.match(await env.connection('u1'), { lifetimeSeconds: 3600 }, 'an expiring token')
  t.equal((await env.refresh('u1')).statusCode, 200, 'refreshed with its refresh token')
  t.match(env.server.requests.at(-1), { path: '/admin/oauth/access_token', params: { grant_type: 'refresh_token' } })
})

t.test('nested tokens (Slack authed_user), metadata from the answer, ok:false errors', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens, request }) => ({
        body:
          request.params.grant_type === 'authorization_code'
            ? {
                ok: true,
                access_token: 'xoxb-the-bot-token',
                token_type: 'bot',
                scope: 'commands',
                authed_user: {
                  id: 'U1234',
                  scope: 'users:read,chat:write',
                  access_token: tokens.access,
                  token_type: 'user',
                  refresh_token: tokens.refresh,
                  expires_in: 43200,
                },
                team: { id: 'T9TK3CUKW', name: 'Slack Softball Team' },
                enterprise: null,
              }
            : {
                ok: true,
                access_token: tokens.access,
                token_type: 'user',
                refresh_token: tokens.refresh,
                expires_in: 43200,
                team: { id: 'T9TK3CUKW', name: 'Slack Softball Team' },
              },
      }),
      dead: { status: 200, body: { ok: false, error: 'invalid_refresh_token' } },
    },
    { id: 'slack', template: 'slack' },
  )
  const location = await env.connect('u1')
  t.equal(location.searchParams.get('user_scope'), 'users:read', 'user scopes, comma-separated')
  const token = await env.token('u1')
  t.equal(token.statusCode, 200)
  const served = token.json()
  t.not(served.accessToken, 'xoxb-the-bot-token', 'the user token, not the bot token')
  t.match(served, {
    tokenType: 'Bearer',
    scope: 'users:read chat:write',
    metadata: { 'team.id': 'T9TK3CUKW', 'team.name': 'Slack Softball Team' },
  })
  t.match(await env.connection('u1'), { subject: 'U1234', lifetimeSeconds: 43200 })

  const refreshed = await env.refresh('u1')
  t.equal(refreshed.statusCode, 200, 'a rotation answers the token at the top level')
  t.not((await env.token('u1')).json().accessToken, served.accessToken, 'the refreshed token is served')
  await transientStaysActive(t, env, 'u1', { status: 200, body: { ok: false, error: 'ratelimited' } })
  await deadAtFirstRefresh(t, env, 'u1')
})

t.test('no expires_in, metadata every call needs (Salesforce instance_url), kept and renewed on refresh', async (t) => {
  let instance = 'https://acme.my.salesforce.com'
  const env = await world(
    t,
    {
      answer: ({ tokens, request }) => ({
        body: {
          access_token: tokens.access,
          ...(request.params.grant_type === 'authorization_code' ? { refresh_token: tokens.refresh } : {}),
          signature: 'CMJ4l+CCaPQiKjoOEwEig9H4wqhpuLSk4J2urAe+fVg=',
          scope: 'refresh_token api',
          instance_url: instance,
          id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
          token_type: 'Bearer',
          issued_at: '1278448101416',
        },
      }),
      dead: { status: 400, body: { error: 'invalid_grant', error_description: 'expired access/refresh token' } },
    },
    { id: 'sf', template: 'salesforce' },
  )
  await env.connect('u1')
  t.match(await env.connection('u1'), {
    lifetimeSeconds: 7200,
    subject: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
  })
  t.same((await env.token('u1')).json().metadata, {
    instance_url: 'https://acme.my.salesforce.com',
    id: 'https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P',
  })
  instance = 'https://acme2.my.salesforce.com'
  t.equal((await env.refresh('u1')).statusCode, 200)
  env.app.services.tokenCache.forget({ namespace: 'default', providerId: 'sf', userId: 'u1' })
  t.match((await env.token('u1')).json().metadata, { instance_url: instance }, 'a refresh answer renews it')
  await deadAtFirstRefresh(t, env, 'u1')
})

t.test('expires_in as a string (Pipedrive), metadata api_domain', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens }) => ({
        body: {
          access_token: tokens.access,
          token_type: 'Bearer',
          refresh_token: tokens.refresh,
          scope: 'base,deals:read',
          expires_in: '3599',
          api_domain: 'https://acme.pipedrive.com',
        },
      }),
    },
    { id: 'pipedrive', template: 'pipedrive' },
  )
  await env.connect('u1')
  t.match(await env.connection('u1'), { lifetimeSeconds: 3599 })
  t.same((await env.token('u1')).json().metadata, { api_domain: 'https://acme.pipedrive.com' })
  await deadAtFirstRefresh(t, env, 'u1')
})

t.test('metadata in the callback (QuickBooks realmId)', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens }) => ({
        body: {
          token_type: 'bearer',
          expires_in: 3600,
          refresh_token: tokens.refresh,
          x_refresh_token_expires_in: 8726400,
          access_token: tokens.access,
        },
      }),
      callbackQuery: { realmId: '4620816365213472' },
    },
    { id: 'qbo', template: 'quickbooks' },
  )
  await env.connect('u1')
  t.same((await env.token('u1')).json().metadata, { realmId: '4620816365213472' })
  t.equal((await env.refresh('u1')).statusCode, 200)
  env.app.services.tokenCache.forget({ namespace: 'default', providerId: 'qbo', userId: 'u1' })
  t.same((await env.token('u1')).json().metadata, { realmId: '4620816365213472' }, 'kept through a refresh')
  await deadAtFirstRefresh(t, env, 'u1')
})

t.test('subdomain URLs (Zendesk), JSON token requests', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens }) => ({
        body: {
          access_token: tokens.access,
          refresh_token: tokens.refresh,
          token_type: 'bearer',
          scope: 'read write',
          expires_in: 172800,
          refresh_token_expires_in: 7776000,
        },
      }),
    },
    { id: 'zendesk-acme', template: 'zendesk', connectionConfig: { subdomain: 'acme' } },
  )
  const location = await env.connect('u1')
  t.equal(location.host, 'acme.zendesk.com')
  t.match(env.server.requests[0], {
    host: 'acme.zendesk.com',
    path: '/oauth/tokens',
    json: true,
    params: { grant_type: 'authorization_code', client_id: 'quirks-client', client_secret: 'quirks-secret' },
  })
  await deadAtFirstRefresh(t, env, 'u1')
  t.match(env.server.requests.at(-1), { host: 'acme.zendesk.com', json: true, params: { grant_type: 'refresh_token' } })
})

t.test('issuer templates (Okta domain and authorization server), discovery on the filled-in issuer', async (t) => {
  const env = await world(
    t,
    {
      answer: ({ tokens, idToken }) => ({
        body: {
          token_type: 'Bearer',
          expires_in: 3600,
          access_token: tokens.access,
          scope: 'openid profile email offline_access',
          refresh_token: tokens.refresh,
          ...(idToken ? { id_token: idToken } : {}),
        },
      }),
      discovery: {
        'example.okta.com': {
          issuer: 'https://example.okta.com/oauth2/default',
          authorize: '/oauth2/default/v1/authorize',
          token: '/oauth2/default/v1/token',
        },
      },
    },
    { id: 'okta', template: 'okta', connectionConfig: { domain: 'example.okta.com' } },
  )
  const location = await env.connect('u1')
  t.equal(location.origin + location.pathname, 'https://example.okta.com/oauth2/default/v1/authorize')
  t.ok(location.searchParams.get('nonce'), 'an OpenID Connect flow')
  t.match(await env.connection('u1'), { subject: 'quirks-user' }, 'the subject from the ID token')
  await deadAtFirstRefresh(t, env, 'u1')
})
