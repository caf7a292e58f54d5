// private_key_jwt (RFC 7523) against oidc-provider: clients registered with a public key only, the broker signing
// client assertions with the private key an admin gave (as PEM and as a JWK), for the code exchange and the refresh.
import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { privateKeyContext } from '../../src/providers/registry.js'
import { openAccessToken, openRefreshToken } from '../../src/services/connection-tokens.js'
import { adminHeaders, connectUser, startFlowEnv } from '../support/flow.js'

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const rsaPem = rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
const ecJwk = { ...ec.privateKey.export({ format: 'jwk' }), kid: 'broker-ec-1' }

t.test('a flow and a refresh with private_key_jwt, accepted by oidc-provider', async (t) => {
  const env = await startFlowEnv(t, {
    providers: [
      {
        id: 'pem',
        tokenEndpointAuthMethod: 'private_key_jwt',
        clientKey: { privateKey: rsaPem, publicJwk: rsa.publicKey.export({ format: 'jwk' }) },
      },
      {
        id: 'jwk',
        tokenEndpointAuthMethod: 'private_key_jwt',
        clientKey: {
          privateKey: JSON.stringify(ecJwk),
          publicJwk: { ...ec.publicKey.export({ format: 'jwk' }), kid: ecJwk.kid },
        },
      },
    ],
    app: { background: false },
  })
  const { app, server } = env
  const { keyring } = app.deps

  for (const provider of env.providerIds) {
    server.resetStats()
    const { connection } = await connectUser(env, { userId: `alice-${provider}`, provider })
    t.equal(server.stats.tokenRequests.authorization_code, 1, `${provider}: the code was exchanged`)

    const refreshed = await app.inject({
      method: 'POST',
      url: `/admin/connections/${connection.id}/refresh`,
      headers: adminHeaders,
    })
    t.equal(refreshed.statusCode, 200, `${provider}: the refresh succeeded ${refreshed.body}`)
    const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })
    t.not(openAccessToken(keyring, row).reveal(), openAccessToken(keyring, connection).reveal(), 'a new token')
    t.not(openRefreshToken(keyring, row)?.reveal(), openRefreshToken(keyring, connection)?.reveal(), 'rotated')
    t.same(server.stats.tokenAuthMethods, ['private_key_jwt', 'private_key_jwt'], `${provider}: assertions only`)
    t.same(server.stats.grantErrors, [], `${provider}: oidc-provider refused nothing`)
  }

  // the key is write-only and stored encrypted, bound to its provider
  const view = await app.inject({ url: '/admin/providers/jwk', headers: adminHeaders })
  t.match(view.json(), { tokenEndpointAuthMethod: 'private_key_jwt', hasPrivateKey: true })
  t.notMatch(view.body, /"d"|PRIVATE KEY|privateKey/)
  const stored = await app.deps.db.prisma.provider.findUniqueOrThrow({ where: { id: 'jwk' } })
  t.same(JSON.parse(keyring.decrypt(stored.privateKeyEnc as Uint8Array, privateKeyContext('jwk'))), ecJwk)
  t.throws(() => keyring.decrypt(stored.privateKeyEnc as Uint8Array, privateKeyContext('pem')), 'bound to its row')
})

t.test('a private key is checked when given and goes with private_key_jwt only', async (t) => {
  const env = await startFlowEnv(t, { app: { background: false } })
  const create = (payload: Record<string, unknown>) =>
    env.app.inject({
      method: 'POST',
      url: '/admin/providers',
      headers: adminHeaders,
      payload: { id: 'other', clientId: 'c', issuer: env.server.issuer, ...payload },
    })
  const publicOnly = await create({
    tokenEndpointAuthMethod: 'private_key_jwt',
    privateKey: rsa.publicKey.export({ format: 'pem', type: 'spki' }),
  })
  t.equal(publicOnly.statusCode, 400)
  t.match(publicOnly.json(), { error: 'invalid_request', message: /privateKey must be a private key/ })
  const missing = await create({ tokenEndpointAuthMethod: 'private_key_jwt' })
  t.match(missing.json(), { error: 'invalid_request', message: 'privateKey is required with private_key_jwt' })
  const withSecretMethod = await create({ clientSecret: 's', privateKey: rsaPem })
  t.match(withSecretMethod.json(), { error: 'invalid_request', message: /private_key_jwt only/ })
  t.notMatch(withSecretMethod.body, /PRIVATE KEY/)

  const switched = await env.app.inject({
    method: 'PUT',
    url: `/admin/providers/${env.providerId}`,
    headers: adminHeaders,
    payload: {
      clientId: `broker-${env.providerId}`,
      issuer: env.server.issuer,
      tokenEndpointAuthMethod: 'private_key_jwt',
    },
  })
  t.equal(switched.statusCode, 400, 'switching to private_key_jwt needs a key')
})
