// Endpoints learned by OIDC discovery obey the https rule configured ones do (CONTRACT.md, "Webhook and provider URL
// rules"): a loopback issuer (allowed over http for local testing) must not hand the broker a plain-http endpoint
// elsewhere, where a token request with the client secret and a refresh token would travel in the clear.
import t from 'tap'
import { build } from '../helper.js'
import { createProvider } from '../support/fixtures.js'

const issuer = 'http://127.0.0.1:9/realm'

function discoveryFetch(endpoints: Record<string, string>): typeof globalThis.fetch {
  return async (input) => {
    const url = String(input instanceof Request ? input.url : input)
    if (url !== `${issuer}/.well-known/openid-configuration`) return new Response('not found', { status: 404 })
    const document = {
      issuer,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      ...endpoints,
    }
    return Response.json(document)
  }
}

t.test('a discovered endpoint outside loopback over plain http is refused', async (t) => {
  for (const name of ['token_endpoint', 'authorization_endpoint', 'revocation_endpoint', 'jwks_uri']) {
    const { app, db, logs } = await build(t, {
      fetch: discoveryFetch({ [name]: 'http://idp.example/endpoint' }),
    })
    await createProvider(app, { id: 'idp', issuer })
    const provider = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'idp' } })
    await t.rejects(
      app.deps.providers.configFor(provider),
      { code: 'DISCOVERED_ENDPOINT_NOT_HTTPS', message: `the discovered ${name} is not https` },
      name,
    )
    t.match(logs.text, new RegExp(`"endpoint":"${name}".*not https: refused`), `${name}: logged`)
  }
})

t.test('loopback and https endpoints from a loopback issuer are used', async (t) => {
  const { app, db } = await build(t, {
    fetch: discoveryFetch({ revocation_endpoint: 'https://idp.example/revoke' }),
  })
  await createProvider(app, { id: 'idp', issuer })
  const provider = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'idp' } })
  const config = await app.deps.providers.configFor(provider)
  t.equal(config.serverMetadata().token_endpoint, `${issuer}/token`)
  t.equal(config.serverMetadata().revocation_endpoint, 'https://idp.example/revoke')
})
