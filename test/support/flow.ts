// Runs the broker's authorization-code flow against a real authorization server (oidc-provider), over HTTP, the way
// a user's browser would: POST /authorizations → GET the start link → log in and consent → GET the callback.
//
//   const env = await startFlowEnv(t)                        // broker listening on 127.0.0.1, provider 'idp', a caller
//   const { connection } = await connectUser(env, { userId: 'u1' })
//   await env.app.inject({ method: 'GET', url: '/tokens/u1?provider=idp', headers: env.caller.headers })
//
// The broker listens on a real port because the provider redirects the browser to it, and PUBLIC_URL must be known
// before the provider's redirect URI is registered: the port is chosen first, then the app is built for it.
import { randomBytes } from 'node:crypto'
import type { Connection } from '../../src/db/generated/client.js'
import { callbackUrl } from '../../src/urls/public.js'
import { build, type Built } from '../helper.js'
import { openTestDatabase } from './database.js'
import {
  startAuthServer,
  type AuthorizeOptions,
  type AuthServerHandle,
  type AuthServerOptions,
  type TestClient,
} from './auth-server.js'
import { createCaller, createProvider, type TestCaller } from './fixtures.js'
import { freePort } from './ports.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export interface ProviderSpec {
  /** Provider id at the broker (a slug). Default 'idp'. */
  id?: string
  /** 'oidc': found by discovery on the issuer; 'oauth2': given only its endpoint URLs. Default 'oidc'. */
  mode?: 'oidc' | 'oauth2'
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  /** private_key_jwt: the key the broker signs with (PEM or JWK) and its public JWK, registered at the server. */
  clientKey?: { privateKey: string; publicJwk: object }
  /** Default: openid offline_access for oidc, profile for oauth2. */
  scopes?: string[]
  /** Any other admin API field (pkce, defaultTokenLifetimeSeconds, refreshMarginSeconds, authorizationParams…). */
  extra?: Record<string, unknown>
}

export interface FlowEnvOptions {
  /** Providers to create, all on the same authorization server; default one: `{ id: 'idp', mode: 'oidc' }`. */
  providers?: ProviderSpec[]
  /** Options of the authorization server (token lifetimes, rotation…); its clients are made here. */
  authServer?: Omit<AuthServerOptions, 'clients'>
  /** Options for `build` (config overrides, now, fetch, providerTimeoutSeconds, background…). */
  app?: Omit<Parameters<typeof build>[1] & object, 'db'>
  /** The caller's allowedReturnTo; default ['https://app.example.test/']. */
  allowedReturnTo?: string[]
}

export type Caller = TestCaller

export interface FlowEnv extends Built {
  server: AuthServerHandle
  publicUrl: URL
  /** The first provider's id. */
  providerId: string
  providerIds: string[]
  /** The client secret the broker holds at the authorization server (for leak checks). */
  clientSecret: string
  /** A caller allowed every provider here and `allowedReturnTo`. */
  caller: Caller
  /** The default returnTo of connectUser: under allowedReturnTo, never actually fetched by the HTTP helpers. */
  returnTo: string
}

export { adminHeaders } from './fixtures.js'
const DEFAULT_RETURN_PREFIX = 'https://app.example.test/'

/** A broker listening on 127.0.0.1 with PUBLIC_URL set to its address, an authorization server, providers and a caller. */
export async function startFlowEnv(t: Teardown, options: FlowEnvOptions = {}): Promise<FlowEnv> {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  const built = await listenOnFreePort(t, options, db)
  const publicUrl = built.config.PUBLIC_URL

  const clientSecret = `broker-secret-${randomBytes(12).toString('hex')}`
  const specs = options.providers ?? [{}]
  const clients: TestClient[] = specs.map((spec) => ({
    client_id: `broker-${spec.id ?? 'idp'}`,
    client_secret: clientSecret,
    redirect_uris: [callbackUrl(publicUrl, spec.id ?? 'idp').href],
    token_endpoint_auth_method: spec.tokenEndpointAuthMethod ?? 'client_secret_basic',
    ...(spec.clientKey ? { jwks: { keys: [spec.clientKey.publicJwk] } } : {}),
  }))
  const server = await startAuthServer({ ...options.authServer, clients })
  t.teardown(() => server.close())

  const providerIds: string[] = []
  for (const spec of specs) providerIds.push(await addAuthServerProvider(built, server, spec, clientSecret))
  const allowedReturnTo = options.allowedReturnTo ?? [DEFAULT_RETURN_PREFIX]
  const caller = await createCaller(built.app, { name: 'test-caller', allowedProviders: providerIds, allowedReturnTo })
  return {
    ...built,
    server,
    publicUrl,
    providerId: providerIds[0] as string,
    providerIds,
    clientSecret,
    caller,
    returnTo: new URL('connections', allowedReturnTo[0]).href,
  }
}

async function listenOnFreePort(
  t: Teardown,
  options: FlowEnvOptions,
  db: Awaited<ReturnType<typeof openTestDatabase>>,
) {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort()
    const built = await build(t, {
      ...options.app,
      db,
      config: { ...options.app?.config, PUBLIC_URL: new URL(`http://127.0.0.1:${port}`) },
    })
    try {
      await built.app.listen({ port, host: '127.0.0.1' })
      return built
    } catch (err) {
      // another process took the port between our probe and the listen: try another
      await built.app.close()
      if (attempt >= 4 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err
    }
  }
}

/** Creates a provider at the broker through the admin API, pointing at `server`. Returns its id. */
export async function addAuthServerProvider(
  built: Built,
  server: AuthServerHandle,
  spec: ProviderSpec,
  clientSecret: string,
): Promise<string> {
  const id = spec.id ?? 'idp'
  const mode = spec.mode ?? 'oidc'
  const { authorizationEndpoint, tokenEndpoint, revocationEndpoint } = server.plainOAuthEndpoints
  const payload = {
    id,
    clientId: `broker-${id}`,
    ...(spec.clientKey ? { privateKey: spec.clientKey.privateKey } : { clientSecret }),
    tokenEndpointAuthMethod: spec.tokenEndpointAuthMethod ?? 'client_secret_basic',
    ...(mode === 'oidc'
      ? { issuer: server.issuer, scopes: spec.scopes ?? ['openid', 'offline_access'] }
      : { authorizationEndpoint, tokenEndpoint, revocationEndpoint, scopes: spec.scopes ?? ['profile'] }),
    ...spec.extra,
  }
  return createProvider(built.app, payload)
}

export interface AuthorizationLink {
  id: string
  url: string
  expiresAt: string
}

/** POST /authorizations as `caller` (default: env.caller); throws unless 201. */
export async function requestAuthorization(
  env: FlowEnv,
  body: {
    userId: string
    provider?: string
    scopes?: string[]
    returnTo?: string | null
    confirm?: boolean
    allowAccountChange?: boolean
  },
  caller: Caller = env.caller,
): Promise<AuthorizationLink> {
  const { returnTo = env.returnTo, provider = env.providerId, ...rest } = body
  const payload = { ...rest, provider, ...(returnTo === null ? {} : { returnTo }) }
  const res = await env.app.inject({ method: 'POST', url: '/authorizations', headers: caller.headers, payload })
  if (res.statusCode !== 201) throw new Error(`POST /authorizations failed: ${res.statusCode} ${res.body}`)
  return res.json() as AuthorizationLink
}

export interface BrowserStep {
  status: number
  /** The Location header, resolved. */
  location: URL | null
  /** `name=value` of the cookies set, ready for a Cookie header. */
  cookie: string
  body: string
}

/** A GET as a browser sends it (no redirects followed), with an optional Cookie header. */
export async function browserGet(url: string | URL, cookie = ''): Promise<BrowserStep> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} })
  const location = res.headers.get('location')
  return {
    status: res.status,
    location: location ? new URL(location, url) : null,
    cookie: res.headers
      .getSetCookie()
      .map((header) => header.split(';')[0])
      .join('; '),
    body: await res.text(),
  }
}

/** Opens a start link: expects the redirect to the provider and the flow cookie. */
export async function openStartLink(url: string | URL): Promise<{ providerUrl: URL; cookie: string }> {
  const step = await browserGet(url)
  if (step.status !== 302 || !step.location || !step.cookie) {
    throw new Error(`start link answered ${step.status} ${step.location?.href ?? ''} ${step.body.slice(0, 200)}`)
  }
  return { providerUrl: step.location, cookie: step.cookie }
}

export interface ConnectOptions {
  userId: string
  provider?: string
  scopes?: string[]
  /** null: no returnTo (the callback shows a page). Default env.returnTo. */
  returnTo?: string | null
  /** Login, consent, denial and cookie jar at the authorization server (login defaults to userId). */
  authorize?: AuthorizeOptions
  caller?: Caller
}

export interface ConnectResult {
  /** The stored connection (tokens encrypted; open them with openAccessToken/openRefreshToken). */
  connection: Connection
  authorizationId: string
  /** Where the provider sent the browser back (holds the code and state). */
  callbackUrl: URL
  /** The flow cookie the browser holds. */
  cookie: string
  /** The broker's answer to the callback. */
  callback: BrowserStep
}

/**
 * Connects a user end to end and returns the stored connection; throws with the broker's answer when the flow
 * does not end with status=connected. Repeat it for the same user to replace the connection's tokens.
 */
export async function connectUser(env: FlowEnv, options: ConnectOptions): Promise<ConnectResult> {
  const provider = options.provider ?? env.providerId
  const link = await requestAuthorization(
    env,
    {
      userId: options.userId,
      provider,
      ...(options.scopes ? { scopes: options.scopes } : {}),
      ...(options.returnTo === undefined ? {} : { returnTo: options.returnTo }),
    },
    options.caller,
  )
  const { providerUrl, cookie } = await openStartLink(link.url)
  const callbackUrl = await env.server.authorize(providerUrl, { login: options.userId, ...options.authorize })
  const callback = await browserGet(callbackUrl, cookie)
  const connected =
    options.returnTo === null
      ? callback.status === 200
      : callback.status === 302 && callback.location?.searchParams.get('status') === 'connected'
  if (!connected) {
    throw new Error(
      `flow did not connect: ${callback.status} ${callback.location?.href ?? callback.body.slice(0, 200)}`,
    )
  }
  const connection = await env.db.prisma.connection.findUniqueOrThrow({
    where: {
      namespace_providerId_userId: {
        namespace: (options.caller ?? env.caller).namespace,
        providerId: provider,
        userId: options.userId,
      },
    },
  })
  return { connection, authorizationId: link.id, callbackUrl, cookie, callback }
}
