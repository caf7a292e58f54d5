// The whole flow against oidc-provider given only its endpoint URLs, as a plain OAuth 2.0 server (like Glimesh),
// with client_secret_post; and a provider with PKCE turned off (its URL only: the test server requires PKCE).
import t from 'tap'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { connectUser, openStartLink, requestAuthorization, startFlowEnv } from '../support/flow.js'

const env = await startFlowEnv(t, {
  providers: [
    { id: 'plain', mode: 'oauth2', tokenEndpointAuthMethod: 'client_secret_post', scopes: ['profile'] },
    { id: 'nopkce', mode: 'oauth2', extra: { pkce: false } },
  ],
  authServer: { accessTokenTtl: 1800 },
})

t.test('a user connects through a plain OAuth 2.0 server with client_secret_post', async (t) => {
  const link = await requestAuthorization(env, { userId: 'alice', provider: 'plain' })
  const { providerUrl, cookie } = await openStartLink(link.url)
  t.equal(providerUrl.href.split('?')[0], env.server.plainOAuthEndpoints.authorizationEndpoint)
  t.notOk(providerUrl.searchParams.has('nonce'), 'no nonce without OpenID Connect')
  t.equal(providerUrl.searchParams.get('scope'), 'profile')
  t.equal(providerUrl.searchParams.get('code_challenge_method'), 'S256')

  const callbackUrl = await env.server.authorize(providerUrl, { login: 'alice' })
  const res = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie } })
  t.equal(res.headers.get('location'), `${env.returnTo}?status=connected`)
  t.same(env.server.stats.tokenAuthMethods.slice(-1), ['post'], 'the server saw client_secret_post')

  const stored = await env.db.prisma.connection.findUniqueOrThrow({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: 'plain', userId: 'alice' } },
  })
  t.match(stored, { status: 'active', subject: null, scope: 'profile', lifetimeSeconds: 1800 })
  const accessToken = openAccessToken(env.app.deps.keyring, stored).reveal()
  t.equal((await env.server.introspect(accessToken)).active, true)
  t.ok(openRefreshToken(env.app.deps.keyring, stored), 'refresh token stored')

  const again = await connectUser(env, { userId: 'alice', provider: 'plain' })
  t.equal(again.connection.id, stored.id, 'a repeat consent keeps the connection')
  t.same(env.server.stats.tokenAuthMethods, ['post', 'post'])
})

t.test('a provider marked pkce: false gets no code challenge and no verifier', async (t) => {
  const link = await requestAuthorization(env, { userId: 'bob', provider: 'nopkce' })
  const { providerUrl } = await openStartLink(link.url)
  t.notOk(providerUrl.searchParams.has('code_challenge'))
  t.notOk(providerUrl.searchParams.has('code_challenge_method'))
  const request = await env.db.prisma.authorizationRequest.findUniqueOrThrow({ where: { id: link.id } })
  t.equal(request.codeVerifierEnc, null)
})
