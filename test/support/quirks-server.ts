// A local authorization server that speaks the dialects real providers speak: its answers are written by the test
// (200 with an error body, form-encoded errors, errors in fields of their own, nested tokens, no or odd expires_in,
// metadata in the answer or the callback). The broker reaches it under the provider's real host names (a Zendesk
// subdomain, login.microsoftonline.com): `fetch` sends every https request to this server, keeping the host.
//
//   const quirks = await startQuirksServer(t, { answer: ({ tokens }) => ({ body: { access_token: tokens.access } }) })
//   const app = await build(t, { fetch: quirks.fetch })
//   const callback = quirks.authorize(startRedirect)            // the provider sending the browser back, with a code
//   quirks.kill()                                               // every refresh token issued so far is now dead
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface IssuedTokens {
  access: string
  refresh: string
}

export interface QuirkAnswer {
  status?: number
  /** An object is sent as JSON; a string as it is, with `contentType`. */
  body: unknown
  contentType?: string
}

export interface TokenRequest {
  host: string
  path: string
  headers: IncomingMessage['headers']
  /** The body's fields, whether it came as a form or as JSON. */
  params: Record<string, string>
  json: boolean
}

export interface QuirksOptions {
  /** The success answer to a token request, for tokens the server just issued. */
  answer: (context: { tokens: IssuedTokens; request: TokenRequest; idToken?: string }) => QuirkAnswer
  /** The answer to a refresh with a dead refresh token (default: RFC 6749's invalid_grant). */
  dead?: QuirkAnswer
  /** Query parameters the provider adds to the callback (QuickBooks' realmId). */
  callbackQuery?: Record<string, string>
  /** Discovery documents by host, for OpenID Connect templates; endpoints are made absolute on that host. */
  discovery?: Record<string, { issuer: string; authorize: string; token: string }>
}

export interface QuirksServer {
  /** Every https request goes to this server with its original host; http (loopback) goes where it says. */
  fetch: typeof globalThis.fetch
  requests: TokenRequest[]
  /** Where the provider sends the browser back after consent: the redirect_uri with a code, the state, extras. */
  authorize(authorizationUrl: URL): URL
  /** Every refresh token issued so far is dead: the next refresh gets `dead`. */
  kill(): void
  /** The next `times` token requests get `answer` instead (a transient failure). */
  failNext(answer: QuirkAnswer, times?: number): void
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')

function idToken(claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64(claims)}`
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
}

const random = (prefix: string) => `${prefix}-${randomBytes(9).toString('base64url')}`

export async function startQuirksServer(
  t: { teardown(fn: () => unknown): void },
  options: QuirksOptions,
): Promise<QuirksServer> {
  const codes = new Map<string, { nonce: string | null; clientId: string; issuer?: string }>()
  const live = new Set<string>()
  const dead = new Set<string>()
  const requests: TokenRequest[] = []
  let failures: { answer: QuirkAnswer; left: number } | undefined

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    const host = String(req.headers['x-quirks-host'] ?? '')
    const path = req.url ?? '/'
    const send = ({ status = 200, body, contentType }: QuirkAnswer) => {
      const payload = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(status, { 'content-type': contentType ?? 'application/json' }).end(payload)
    }
    const document = options.discovery?.[host]
    if (req.method === 'GET' && document && path === new URL(discoveryPath(document.issuer)).pathname) {
      return send({
        body: {
          issuer: document.issuer,
          authorization_endpoint: `https://${host}${document.authorize}`,
          token_endpoint: `https://${host}${document.token}`,
          jwks_uri: `https://${host}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        },
      })
    }
    const json = /json/.test(String(req.headers['content-type'] ?? ''))
    const params: Record<string, string> = json ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text))
    const request = { host, path, headers: req.headers, params, json }
    requests.push(request)
    if (failures && failures.left > 0) {
      failures.left -= 1
      return send(failures.answer)
    }
    const issue = (extra: { idToken?: string } = {}) => {
      const tokens = { access: random('at'), refresh: random('rt') }
      live.add(tokens.refresh)
      send(options.answer({ tokens, request, ...extra }))
    }
    if (params.grant_type === 'authorization_code') {
      const code = codes.get(params.code ?? '')
      if (!code) return send({ status: 400, body: { error: 'invalid_grant' } })
      codes.delete(params.code as string)
      const now = Math.floor(Date.now() / 1000)
      return issue(
        code.nonce && code.issuer
          ? {
              idToken: idToken({
                iss: code.issuer,
                aud: code.clientId,
                sub: 'quirks-user',
                nonce: code.nonce,
                iat: now,
                exp: now + 3600,
              }),
            }
          : {},
      )
    }
    if (params.grant_type === 'refresh_token') {
      const token = params.refresh_token ?? ''
      if (dead.has(token) || !live.has(token)) {
        return send(options.dead ?? { status: 400, body: { error: 'invalid_grant' } })
      }
      return issue()
    }
    send({ status: 400, body: { error: 'unsupported_grant_type' } })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const fetch: typeof globalThis.fetch = (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input))
    if (url.protocol !== 'https:') return globalThis.fetch(input, init)
    const headers = new Headers(init?.headers)
    headers.set('x-quirks-host', url.host)
    return globalThis.fetch(origin + url.pathname + url.search, { ...init, headers })
  }

  return {
    fetch,
    requests,
    authorize(authorizationUrl) {
      const params = authorizationUrl.searchParams
      const code = random('code')
      const issuer = Object.values(options.discovery ?? {}).find(
        (document) => new URL(document.issuer).host === authorizationUrl.host,
      )?.issuer
      codes.set(code, {
        nonce: params.get('nonce'),
        clientId: params.get('client_id') ?? '',
        ...(issuer ? { issuer } : {}),
      })
      const callback = new URL(params.get('redirect_uri') as string)
      callback.search = new URLSearchParams({
        code,
        state: params.get('state') ?? '',
        ...options.callbackQuery,
      }).toString()
      return callback
    },
    kill() {
      for (const token of live) dead.add(token)
      live.clear()
    },
    failNext(answer, times = 1) {
      failures = { answer, left: times }
    },
  }
}

function discoveryPath(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
}
