// Connections with real tokens from oidc-provider, written straight to the database: for tests and benchmarks of
// what happens after the authorization flow (GET /tokens, refresh, scheduler, revocation).
//
//   const idp = await startIdp(t, app, { accessTokenTtl: 2 })
//   const caller = await createCaller(app, { allowedProviders: [idp.providerId] })   (from fixtures.ts)
//   const [alice] = await connectUsers(app, idp, ['alice'])
//   await app.inject({ url: `/tokens/alice?provider=${idp.providerId}`, headers: caller.headers })
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import * as client from 'openid-client'
import { Secret } from '../../src/crypto/secret.js'
import { openRefreshToken, sealTokens } from '../../src/services/connection-tokens.js'
import { nextRefreshAt, tokenLifetime } from '../../src/services/refresh-policy.js'
import { startAuthServer, type AuthServerHandle, type AuthServerOptions } from './auth-server.js'
import { createProvider } from './fixtures.js'

const REDIRECT_URI = 'http://127.0.0.1:3000/oauth/callback'

export interface Idp {
  server: AuthServerHandle
  providerId: string
  /** An openid-client configuration of the same client, for grants made by the test itself. */
  config: client.Configuration
}

export interface IdpOptions extends AuthServerOptions {
  providerId?: string
  /** Stored as the provider's client secret (what the broker sends); defaults to the real one. */
  brokerClientSecret?: string
  defaultTokenLifetimeSeconds?: number
  refreshMarginSeconds?: number | null
  /** Configure the provider by endpoints without a revocation endpoint instead of by discovery. */
  withoutRevocation?: boolean
}

/** Starts oidc-provider and stores it as a provider of `app`, stopped when the test ends. */
export async function startIdp(
  t: { teardown(fn: () => unknown): void },
  app: FastifyInstance,
  options: IdpOptions = {},
): Promise<Idp> {
  const providerId = options.providerId ?? 'idp'
  const secret = `secret-${randomUUID()}`
  const testClient = { client_id: `broker-${providerId}`, client_secret: secret, redirect_uris: [REDIRECT_URI] }
  const server = await startAuthServer({ clients: [testClient], ...options })
  t.teardown(() => server.close())
  const endpoints = options.withoutRevocation
    ? {
        authorizationEndpoint: server.plainOAuthEndpoints.authorizationEndpoint,
        tokenEndpoint: server.plainOAuthEndpoints.tokenEndpoint,
      }
    : { issuer: server.issuer }
  await createProvider(app, {
    id: providerId,
    clientId: testClient.client_id,
    clientSecret: options.brokerClientSecret ?? secret,
    scopes: ['openid', 'offline_access'],
    ...endpoints,
    ...(options.defaultTokenLifetimeSeconds
      ? { defaultTokenLifetimeSeconds: options.defaultTokenLifetimeSeconds }
      : {}),
    ...(options.refreshMarginSeconds != null ? { refreshMarginSeconds: options.refreshMarginSeconds } : {}),
  })
  const config = await client.discovery(
    new URL(server.issuer),
    testClient.client_id,
    { client_secret: secret },
    client.ClientSecretBasic(),
    { execute: [client.allowInsecureRequests] },
  )
  return { server, providerId, config }
}

export interface ConnectedUser {
  connectionId: string
  userId: string
  accessToken: string
  refreshToken: string
}

/** Signs each user in at the provider (the real code flow), then stores the connection as the callback would. */
export async function connectUsers(
  app: FastifyInstance,
  idp: Idp,
  userIds: string[],
  { concurrency = 8, now = app.deps.now() }: { concurrency?: number; now?: Date } = {},
): Promise<ConnectedUser[]> {
  const out: ConnectedUser[] = new Array(userIds.length)
  let next = 0
  const worker = async () => {
    while (next < userIds.length) {
      const index = next++
      const userId = userIds[index] as string
      const tokens = await signIn(idp, userId)
      out[index] = await storeTokens(app, idp.providerId, userId, tokens, now)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, userIds.length) }, worker))
  return out
}

/**
 * Like connectUsers, for hundreds of users: each gets a grant, a refresh token and an access token minted by
 * oidc-provider's own models (its real token store: refresh, rotation, reuse detection and introspection behave
 * as after a login), without the dozen HTTP round trips of a browser login.
 */
export async function mintUsers(
  app: FastifyInstance,
  idp: Idp,
  userIds: string[],
  { now = app.deps.now() }: { now?: Date } = {},
): Promise<ConnectedUser[]> {
  return storeMany(app, idp.providerId, await mintTokens(idp, userIds), now)
}

/** The tokens mintUsers stores, minted by oidc-provider's own models, for a test to hand to the broker itself. */
export async function mintTokens(
  idp: Idp,
  userIds: string[],
): Promise<Array<{ userId: string; tokens: client.TokenEndpointResponse }>> {
  const { provider } = idp.server
  const clientId = idp.server.clients[0]?.client_id as string
  const oidcClient = await provider.Client.find(clientId)
  if (!oidcClient) throw new Error(`client ${clientId} not found`)
  const scope = 'openid offline_access'
  const grants: Array<{ userId: string; tokens: client.TokenEndpointResponse }> = []
  for (const userId of userIds) {
    const grant = new provider.Grant({ accountId: userId, clientId })
    grant.addOIDCScope(scope)
    const grantId = await grant.save()
    const issuedAt = Math.floor(Date.now() / 1000)
    const common = { accountId: userId, client: oidcClient, grantId, scope, gty: 'authorization_code' }
    const refreshToken = await new provider.RefreshToken({ ...common, iiat: issuedAt, authTime: issuedAt }).save()
    const accessToken = await new provider.AccessToken(common).save()
    const expiresIn = idp.server.behaviour.omitExpiresIn ? undefined : idp.server.behaviour.accessTokenTtl
    grants.push({
      userId,
      tokens: {
        access_token: accessToken,
        refresh_token: refreshToken,
        token_type: 'bearer',
        scope,
        expires_in: expiresIn,
      },
    })
  }
  return grants
}

/** The tokens of a real authorization-code flow at the provider, signed in as `userId`; stored nowhere. */
export async function signIn(idp: Idp, userId: string): Promise<client.TokenEndpointResponse> {
  const pkceCodeVerifier = client.randomPKCECodeVerifier()
  const expectedState = client.randomState()
  const url = client.buildAuthorizationUrl(idp.config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid offline_access',
    state: expectedState,
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
  })
  const callback = await idp.server.authorize(url, { login: userId })
  return client.authorizationCodeGrant(idp.config, callback, { pkceCodeVerifier, expectedState })
}

async function storeTokens(
  app: FastifyInstance,
  providerId: string,
  userId: string,
  tokens: client.TokenEndpointResponse,
  now: Date,
): Promise<ConnectedUser> {
  const [stored] = await storeMany(app, providerId, [{ userId, tokens }], now)
  return stored as ConnectedUser
}

async function storeMany(
  app: FastifyInstance,
  providerId: string,
  grants: Array<{ userId: string; tokens: client.TokenEndpointResponse }>,
  now: Date,
): Promise<ConnectedUser[]> {
  const {
    keyring,
    config,
    db: { prisma },
  } = app.deps
  const provider = await prisma.provider.findUniqueOrThrow({ where: { id: providerId } })
  const rows = grants.map(({ userId, tokens }) => {
    const id = randomUUID()
    const sealed = sealTokens(keyring, id, {
      accessToken: new Secret(tokens.access_token),
      refreshToken: tokens.refresh_token ? new Secret(tokens.refresh_token) : undefined,
      tokenType: tokens.token_type,
    })
    const lifetimeSeconds = tokenLifetime(tokens.expires_in, provider.defaultTokenLifetimeSeconds)
    const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
    const timing = {
      expiresAt,
      lifetimeSeconds,
      hasRefreshToken: Boolean(tokens.refresh_token),
      providerMarginSeconds: provider.refreshMarginSeconds,
    }
    return {
      id,
      providerId,
      userId,
      ...sealed,
      tokenType: tokens.token_type,
      scope: tokens.scope ?? null,
      expiresAt,
      lifetimeSeconds,
      nextRefreshAt: nextRefreshAt(timing, config.REFRESH_WINDOW_SECONDS),
    }
  })
  await prisma.connection.createMany({ data: rows })
  return rows.map((row, i) => ({
    connectionId: row.id,
    userId: row.userId,
    accessToken: grants[i]?.tokens.access_token as string,
    refreshToken: grants[i]?.tokens.refresh_token ?? '',
  }))
}

/** Makes connections due (or expired) now without waiting: moves their expiry into the past. */
export async function expireConnections(app: FastifyInstance, ids?: string[]): Promise<void> {
  const past = new Date(app.deps.now().getTime() - 1000)
  await app.deps.db.prisma.connection.updateMany({
    where: ids ? { id: { in: ids } } : {},
    data: { expiresAt: past, nextRefreshAt: past },
  })
}

/** The refresh token stored for a connection, decrypted. */
export async function storedRefreshToken(app: FastifyInstance, connectionId: string): Promise<string | undefined> {
  const {
    keyring,
    db: { prisma },
  } = app.deps
  const row = await prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
  return openRefreshToken(keyring, row)?.reveal()
}

/** Every stored refresh token, decrypted, by connection id. */
export async function storedRefreshTokens(app: FastifyInstance): Promise<Map<string, string | undefined>> {
  const {
    keyring,
    db: { prisma },
  } = app.deps
  const rows = await prisma.connection.findMany({ select: { id: true, refreshTokenEnc: true } })
  return new Map(rows.map((row) => [row.id, openRefreshToken(keyring, row)?.reveal()]))
}
