// A real OAuth 2.0 / OpenID Connect authorization server (oidc-provider) for tests, with counters and fault injection
// on the token endpoint, and a login helper that runs the authorization flow over plain HTTP.
//
//   const server = await startAuthServer({ clients: [{ client_id, client_secret, redirect_uris }], accessTokenTtl: 2 })
//   t.teardown(() => server.close())
//   const callback = await server.authorize(authorizationUrlFromTheBroker, { login: 'alice' })
//   await fetch(callback) // the broker's callback exchanges the code
//   server.setTokenFault({ kind: 'status', status: 503, grantType: 'refresh_token', times: 1 })
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Adapter, AdapterPayload, ClientMetadata, Configuration } from 'oidc-provider'
import type Provider from 'oidc-provider'

export interface TestClient {
  client_id: string
  client_secret: string
  redirect_uris: string[]
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt'
  /** private_key_jwt: the public keys its client assertions are checked with (the secret is then not accepted). */
  jwks?: { keys: object[] }
}

export interface AuthServerOptions {
  clients?: TestClient[]
  /** Access token lifetime in seconds. */
  accessTokenTtl?: number
  rotateRefreshToken?: boolean
  /** Token responses lack `expires_in`. */
  omitExpiresIn?: boolean
  /** Refresh responses lack `refresh_token` (rotation is then off, so the old refresh token stays valid). */
  omitRefreshTokenOnRefresh?: boolean
  /** Token responses with a refresh token also say `refresh_token_expires_in` (seconds), as GitHub Apps do. */
  refreshTokenExpiresIn?: number
  /** Scopes recognised besides openid, offline_access, profile and email. */
  scopes?: string[]
}

/** Runtime-adjustable subset of the options. */
export type AuthServerBehaviour = Required<
  Pick<AuthServerOptions, 'accessTokenTtl' | 'rotateRefreshToken' | 'omitExpiresIn' | 'omitRefreshTokenOnRefresh'>
> &
  Pick<AuthServerOptions, 'refreshTokenExpiresIn'>

interface FaultScope {
  /** Apply only to token requests with this grant_type. */
  grantType?: 'authorization_code' | 'refresh_token' | 'client_credentials'
  /** Apply to this many matching requests, then clear itself. Unlimited when absent. */
  times?: number
}

export type TokenFault = FaultScope &
  (
    | { kind: 'status'; status: number; body?: string; contentType?: string; retryAfter?: number }
    /**
     * Delay processing by `ms`; without `ms`, or on reset or close before it elapses, the socket is destroyed. With
     * `afterProcessing` the grant is executed first and its answer is delayed (lost if the client goes away).
     */
    | { kind: 'hang'; ms?: number; afterProcessing?: boolean }
    | { kind: 'garbage'; body: string; contentType: string; status?: number }
    /** Destroy the socket; with `afterProcessing` the grant is executed first (the response is lost). */
    | { kind: 'drop'; afterProcessing?: boolean }
  )

export type TokenAuthMethod = 'basic' | 'post' | 'private_key_jwt' | 'none'

export interface AuthServerStats {
  tokenRequests: { authorization_code: number; refresh_token: number; [grantType: string]: number }
  tokenAuthMethods: TokenAuthMethod[]
  /** Requests to the revocation endpoint, excluding the handle's own `revoke()` calls. */
  revocations: number
  revokedTokens: string[]
  faultsApplied: number
  grantErrors: Array<{ error: string; error_detail: string | undefined }>
  /** Presentations of an already rotated refresh token; oidc-provider revokes the whole grant when this happens. */
  refreshTokenReuse: number
  authorizationCodeReuse: number
}

export interface AuthorizeOptions {
  /** Account id to sign in as; any value is accepted. Default 'alice'. */
  login?: string
  /** false denies at the consent prompt (after signing in). Default true. */
  consent?: boolean
  /** Abort at the first interaction, which redirects with `error=access_denied`. */
  deny?: boolean
  /** Reuse a browser session across calls (a second authorize may then skip login and consent). */
  cookieJar?: CookieJar
}

export interface IntrospectionResult {
  active: boolean
  [claim: string]: unknown
}

export interface AuthServerHandle {
  readonly url: string
  readonly issuer: string
  readonly provider: Provider
  readonly clients: readonly TestClient[]
  readonly plainOAuthEndpoints: { authorizationEndpoint: string; tokenEndpoint: string; revocationEndpoint: string }
  readonly stats: AuthServerStats
  readonly behaviour: AuthServerBehaviour
  setTokenFault(fault: TokenFault | null): void
  /** Follows the authorization flow and returns the redirect to the client's redirect_uri, without following it. */
  authorize(authorizeUrl: string | URL, options?: AuthorizeOptions): Promise<URL>
  /** Revokes every grant (and its tokens) of an account server-side; the next refresh gets invalid_grant. */
  revokeGrantsFor(accountId: string): Promise<number>
  /** Calls the revocation endpoint with the first client's credentials. */
  revoke(token: string, tokenTypeHint?: 'refresh_token' | 'access_token'): Promise<void>
  introspect(token: string): Promise<IntrospectionResult>
  /** Adds a client at runtime, e.g. once the broker's callback URL is known. */
  registerClient(client: TestClient): Promise<void>
  resetStats(): void
  close(): Promise<void>
}

export const REFRESH_TOKEN_REUSE_DETAIL = 'refresh token already used'
export const AUTHORIZATION_CODE_REUSE_DETAIL = 'authorization code already consumed'

const DEFAULT_CLIENT: TestClient = {
  client_id: 'test-client',
  client_secret: 'test-client-secret',
  redirect_uris: ['http://127.0.0.1:3000/oauth/callback'],
}
const INTERNAL_HEADER = 'x-test-auth-server-internal'
const TOKEN_PATH = '/token'
const REVOCATION_PATH = '/token/revocation'
const INTROSPECTION_PATH = '/token/introspection'
const DAY = 24 * 60 * 60

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServerHandle> {
  const { default: ProviderClass } = await loadOidcProvider()
  const clients = [...(options.clients ?? [DEFAULT_CLIENT])]
  const firstClient = clients[0]
  if (!firstClient) throw new Error('startAuthServer needs at least one client')

  const behaviour: AuthServerBehaviour = {
    accessTokenTtl: options.accessTokenTtl ?? 3600,
    rotateRefreshToken: options.rotateRefreshToken ?? true,
    omitExpiresIn: options.omitExpiresIn ?? false,
    omitRefreshTokenOnRefresh: options.omitRefreshTokenOnRefresh ?? false,
    ...(options.refreshTokenExpiresIn === undefined ? {} : { refreshTokenExpiresIn: options.refreshTokenExpiresIn }),
  }
  const stats = emptyStats()
  const store = new MemoryStore()
  const faults = new FaultState(stats)

  const server = createServer()
  await listen(server)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const provider = new ProviderClass(url, providerConfiguration(clients, behaviour, store, options.scopes ?? []))
  provider.use(tokenEndpointMiddleware(stats, faults, behaviour))
  provider.on('grant.error', (_ctx, err) => recordGrantError(stats, err.error, err.error_detail))
  server.on('request', provider.callback())

  const internalFetch = (path: string, params: Record<string, string>) =>
    fetch(url + path, {
      method: 'POST',
      headers: { authorization: basicAuth(firstClient), [INTERNAL_HEADER]: '1' },
      body: new URLSearchParams(params),
    })

  return {
    url,
    issuer: url,
    provider,
    clients,
    plainOAuthEndpoints: {
      authorizationEndpoint: `${url}/auth`,
      tokenEndpoint: url + TOKEN_PATH,
      revocationEndpoint: url + REVOCATION_PATH,
    },
    stats,
    behaviour,
    setTokenFault: (fault) => faults.set(fault),
    authorize: (authorizeUrl, authorizeOptions) => runAuthorization(url, authorizeUrl, authorizeOptions),
    revokeGrantsFor: (accountId) => store.revokeGrantsOf(accountId),
    async revoke(token, tokenTypeHint) {
      const params: Record<string, string> = { token }
      if (tokenTypeHint) params.token_type_hint = tokenTypeHint
      const res = await internalFetch(REVOCATION_PATH, params)
      if (!res.ok) throw new Error(`revocation failed with HTTP ${res.status}: ${await res.text()}`)
    },
    async introspect(token) {
      const res = await internalFetch(INTROSPECTION_PATH, { token })
      if (!res.ok) throw new Error(`introspection failed with HTTP ${res.status}: ${await res.text()}`)
      return (await res.json()) as IntrospectionResult
    },
    async registerClient(client) {
      await store.adapterFor('Client').upsert(client.client_id, toClientMetadata(client))
      clients.push(client)
    },
    resetStats: () => Object.assign(stats, emptyStats()),
    async close() {
      faults.set(null)
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Provider configuration

function providerConfiguration(
  clients: TestClient[],
  behaviour: AuthServerBehaviour,
  store: MemoryStore,
  extraScopes: string[],
): Configuration {
  return {
    adapter: (model: string) => store.adapterFor(model),
    clients: clients.map(toClientMetadata),
    cookies: { keys: ['auth-server-test-cookie-key-1', 'auth-server-test-cookie-key-2'] },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: sub, email: `${sub}@example.test`, email_verified: true }),
    }),
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'offline_access', 'profile', 'email', ...extraScopes],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      clientCredentials: { enabled: true },
    },
    pkce: { required: () => true },
    // Refresh tokens regardless of offline_access/prompt=consent, and not bound to the login session.
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    rotateRefreshToken: () => behaviour.rotateRefreshToken && !behaviour.omitRefreshTokenOnRefresh,
    ttl: {
      AccessToken: () => behaviour.accessTokenTtl,
      ClientCredentials: () => behaviour.accessTokenTtl,
      RefreshToken: 14 * DAY,
      IdToken: 3600,
      Interaction: 3600,
      Session: 14 * DAY,
      Grant: 14 * DAY,
    },
  }
}

function toClientMetadata(client: TestClient): ClientMetadata {
  const keys = client.token_endpoint_auth_method === 'private_key_jwt'
  return {
    client_id: client.client_id,
    ...(keys ? { jwks: client.jwks as ClientMetadata['jwks'] } : { client_secret: client.client_secret }),
    redirect_uris: client.redirect_uris,
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
  }
}

let oidcProviderModule: Promise<typeof import('oidc-provider')> | undefined

// oidc-provider prints development notices (unsupported Node runtime, dev interactions, default policies) at import,
// construction and on first use; they are noise for tests, so they are dropped for the whole process.
function loadOidcProvider(): Promise<typeof import('oidc-provider')> {
  if (!oidcProviderModule) {
    for (const level of ['warn', 'info'] as const) {
      const original = console[level].bind(console)
      console[level] = (...args: unknown[]) => {
        if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE): /.test(args[0])) return
        original(...args)
      }
    }
    oidcProviderModule = import('oidc-provider')
  }
  return oidcProviderModule
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
}

function emptyStats(): AuthServerStats {
  return {
    tokenRequests: { authorization_code: 0, refresh_token: 0 },
    tokenAuthMethods: [],
    revocations: 0,
    revokedTokens: [],
    faultsApplied: 0,
    grantErrors: [],
    refreshTokenReuse: 0,
    authorizationCodeReuse: 0,
  }
}

function recordGrantError(stats: AuthServerStats, error: string, detail: string | undefined): void {
  stats.grantErrors.push({ error, error_detail: detail })
  if (detail === REFRESH_TOKEN_REUSE_DETAIL) stats.refreshTokenReuse += 1
  if (detail === AUTHORIZATION_CODE_REUSE_DETAIL) stats.authorizationCodeReuse += 1
}

function basicAuth(client: TestClient): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(client.client_id)}:${encode(client.client_secret)}`).toString('base64')}`
}

// ---------------------------------------------------------------------------------------------------------------
// Token endpoint middleware: counters, faults, response shaping

type RequestWithBody = IncomingMessage & { body?: string }
type Middleware = Parameters<Provider['use']>[0]
type Context = Parameters<Middleware>[0]
type Next = Parameters<Middleware>[1]

function tokenEndpointMiddleware(stats: AuthServerStats, faults: FaultState, behaviour: AuthServerBehaviour) {
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.method !== 'POST' || (ctx.path !== TOKEN_PATH && ctx.path !== REVOCATION_PATH)) return next()

    // Read the form here to route faults by grant_type; oidc-provider then parses req.body instead of the stream.
    const raw = await readBody(ctx.req)
    ;(ctx.req as RequestWithBody).body = raw
    const params = new URLSearchParams(raw)

    if (ctx.path === REVOCATION_PATH) {
      if (!ctx.get(INTERNAL_HEADER)) {
        stats.revocations += 1
        stats.revokedTokens.push(params.get('token') ?? '')
      }
      return next()
    }

    const grantType = params.get('grant_type') ?? ''
    stats.tokenRequests[grantType] = (stats.tokenRequests[grantType] ?? 0) + 1
    stats.tokenAuthMethods.push(authMethodOf(ctx.get('authorization'), params))

    const fault = faults.take(grantType)
    if (fault) return applyFault(ctx, next, fault, faults)

    await next()
    shapeTokenResponse(ctx, grantType, behaviour)
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function authMethodOf(authorization: string, params: URLSearchParams): TokenAuthMethod {
  if (/^basic /i.test(authorization)) return 'basic'
  if (params.has('client_secret')) return 'post'
  if (params.get('client_assertion_type') === 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    return 'private_key_jwt'
  }
  return 'none'
}

function shapeTokenResponse(ctx: Context, grantType: string, behaviour: AuthServerBehaviour): void {
  if (ctx.status !== 200 || !isRecord(ctx.body)) return
  if (behaviour.omitExpiresIn) delete ctx.body.expires_in
  if (behaviour.omitRefreshTokenOnRefresh && grantType === 'refresh_token') delete ctx.body.refresh_token
  if (behaviour.refreshTokenExpiresIn !== undefined && ctx.body.refresh_token) {
    ctx.body.refresh_token_expires_in = behaviour.refreshTokenExpiresIn
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value)
}

async function applyFault(ctx: Context, next: Next, fault: TokenFault, faults: FaultState): Promise<void> {
  switch (fault.kind) {
    case 'status':
      if (fault.retryAfter !== undefined) ctx.set('retry-after', String(fault.retryAfter))
      respondWith(
        ctx,
        fault.status,
        fault.body ?? JSON.stringify({ error: fault.status === 500 ? 'server_error' : 'temporarily_unavailable' }),
        fault.contentType ?? 'application/json',
      )
      return
    case 'garbage':
      respondWith(ctx, fault.status ?? 200, fault.body, fault.contentType)
      return
    case 'drop':
      if (fault.afterProcessing) await next()
      ctx.req.socket.destroy()
      ctx.respond = false
      return
    case 'hang':
      if (fault.afterProcessing) {
        await next()
        if (!(await faults.hang(fault.ms, ctx.res))) {
          ctx.req.socket.destroy()
          ctx.respond = false
        }
        return
      }
      // Never execute the grant of a request whose client gave up or whose hang was reset: that would consume a
      // refresh token behind the client's back and make the outcome of the test timing-dependent.
      if (!(await faults.hang(fault.ms, ctx.res))) {
        ctx.req.socket.destroy()
        ctx.respond = false
        return
      }
      return next()
  }
}

function respondWith(ctx: Context, status: number, body: string, contentType: string): void {
  ctx.status = status
  ctx.body = body
  ctx.type = contentType
}

class FaultState {
  private fault: TokenFault | null = null
  private remaining = Infinity
  private readonly releases = new Set<() => void>()

  constructor(private readonly stats: AuthServerStats) {}

  set(fault: TokenFault | null): void {
    this.fault = fault
    this.remaining = fault?.times ?? Infinity
    for (const release of this.releases) release()
    this.releases.clear()
  }

  take(grantType: string): TokenFault | null {
    const fault = this.fault
    if (!fault || (fault.grantType && fault.grantType !== grantType)) return null
    this.remaining -= 1
    if (this.remaining <= 0) this.fault = null
    this.stats.faultsApplied += 1
    return fault
  }

  /** Resolves true when the delay ends; false when the client disconnects, the fault is reset or the server closes. */
  hang(ms: number | undefined, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (proceed: boolean) => {
        clearTimeout(timer)
        res.off('close', abort)
        this.releases.delete(abort)
        resolve(proceed)
      }
      const abort = () => finish(false)
      const timer = ms === undefined ? undefined : setTimeout(() => finish(true), ms)
      this.releases.add(abort)
      res.once('close', abort)
    })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Storage: unbounded in-memory adapter (the built-in one is an LRU of 1000 entries shared by every provider in the
// process, which would evict live tokens in longer tests), enumerable so grants can be revoked per account.

interface StoredEntry {
  payload: AdapterPayload
  expiresAt: number
}

const GRANTABLE_MODELS = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode'])

class MemoryStore {
  private readonly models = new Map<string, Map<string, StoredEntry>>()
  private readonly adapters = new Map<string, Adapter>()

  adapterFor(model: string): Adapter {
    let adapter = this.adapters.get(model)
    if (!adapter) {
      adapter = new MemoryAdapter(this.entriesOf(model))
      this.adapters.set(model, adapter)
    }
    return adapter
  }

  async revokeGrantsOf(accountId: string): Promise<number> {
    const grantIds = [...this.entriesOf('Grant')]
      .filter(([, entry]) => entry.payload.accountId === accountId)
      .map(([id]) => id)
    for (const grantId of grantIds) {
      for (const model of GRANTABLE_MODELS) await this.adapterFor(model).revokeByGrantId(grantId)
      await this.adapterFor('Grant').destroy(grantId)
    }
    return grantIds.length
  }

  private entriesOf(model: string): Map<string, StoredEntry> {
    let entries = this.models.get(model)
    if (!entries) {
      entries = new Map()
      this.models.set(model, entries)
    }
    return entries
  }
}

class MemoryAdapter implements Adapter {
  constructor(private readonly entries: Map<string, StoredEntry>) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const expiresAt = expiresIn === undefined ? Infinity : Date.now() + expiresIn * 1000
    this.entries.set(id, { payload, expiresAt })
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const entry = this.entries.get(id)
    if (!entry) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(id)
      return undefined
    }
    return entry.payload
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findBy((payload) => payload.uid === uid)
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findBy((payload) => payload.userCode === userCode)
  }

  async consume(id: string): Promise<void> {
    const entry = this.entries.get(id)
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000)
  }

  async destroy(id: string): Promise<void> {
    this.entries.delete(id)
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [id, entry] of this.entries) {
      if (entry.payload.grantId === grantId) this.entries.delete(id)
    }
  }

  private async findBy(predicate: (payload: AdapterPayload) => boolean): Promise<AdapterPayload | undefined> {
    for (const [id, entry] of this.entries) {
      if (predicate(entry.payload)) return this.find(id)
    }
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Programmatic login and consent against the devInteractions pages

const MAX_HOPS = 20

async function runAuthorization(serverUrl: string, start: string | URL, options: AuthorizeOptions = {}): Promise<URL> {
  const jar = options.cookieJar ?? new CookieJar()
  const origin = new URL(serverUrl).origin
  let request: { url: URL; form?: URLSearchParams } = { url: new URL(start) }

  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const res = await fetch(request.url, {
      method: request.form ? 'POST' : 'GET',
      headers: { cookie: jar.headerFor(request.url) },
      body: request.form,
      redirect: 'manual',
    })
    jar.store(res.headers.getSetCookie())

    const location = res.headers.get('location')
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel()
      const next = new URL(location, request.url)
      if (next.origin !== origin) return next
      request = { url: next }
      continue
    }

    const html = await res.text()
    if (res.status !== 200 || !request.url.pathname.startsWith('/interaction/')) {
      throw new Error(
        `authorization flow stopped at ${request.url.pathname} with HTTP ${res.status}: ${html.slice(0, 300)}`,
      )
    }
    request = nextInteractionStep(request.url, html, options)
  }
  throw new Error(`authorization flow did not reach the client after ${MAX_HOPS} requests`)
}

function nextInteractionStep(
  pageUrl: URL,
  html: string,
  options: AuthorizeOptions,
): { url: URL; form?: URLSearchParams } {
  const prompt = /name="prompt" value="([a-z]+)"/.exec(html)?.[1]
  const denied = options.deny || (prompt === 'consent' && options.consent === false)
  if (denied) {
    const abort = /href="([^"]*\/abort)"/.exec(html)?.[1]
    return { url: new URL(abort ?? `${pageUrl.pathname}/abort`, pageUrl) }
  }

  const action = new URL(/<form[^>]* action="([^"]+)"/.exec(html)?.[1] ?? pageUrl.pathname, pageUrl)
  switch (prompt) {
    case 'login':
      return {
        url: action,
        form: new URLSearchParams({ prompt: 'login', login: options.login ?? 'alice', password: 'x' }),
      }
    case 'consent':
      return { url: action, form: new URLSearchParams({ prompt: 'consent' }) }
    default:
      throw new Error(`unexpected interaction page at ${pageUrl.pathname}: prompt ${prompt ?? '(none)'}`)
  }
}

interface StoredCookie {
  name: string
  value: string
  path: string
}

/** Minimal cookie jar for a single host: honours Path and deletion, ignores Domain, Secure and Expires otherwise. */
export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>()

  store(setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';').map((part) => part.trim())
      const separator = pair.indexOf('=')
      if (separator <= 0) continue
      const cookie = { name: pair.slice(0, separator), value: pair.slice(separator + 1), path: '/' }
      let expired = false
      for (const attribute of attributes) {
        const [key = '', value = ''] = attribute.split('=')
        const name = key.toLowerCase()
        if (name === 'path' && value) cookie.path = value
        if (name === 'max-age' && Number(value) <= 0) expired = true
        if (name === 'expires' && Date.parse(value) <= Date.now()) expired = true
      }
      const key = `${cookie.path}|${cookie.name}`
      if (expired || cookie.value === '') this.cookies.delete(key)
      else this.cookies.set(key, cookie)
    }
  }

  headerFor(url: URL): string {
    return [...this.cookies.values()]
      .filter((cookie) => pathMatches(url.pathname, cookie.path))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ')
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true
  const prefix = cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`
  return requestPath.startsWith(prefix)
}
