// The demo's identity provider: oidc-provider (a dev dependency: the demo runs from the checkout) on 127.0.0.1,
// with its built-in login and consent pages, where any username and any password sign in.
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'

export interface DemoProviderOptions {
  port: number
  clientId: string
  clientSecret: string
  redirectUri: string
  /** Seconds an access token lives: short, so the broker's refreshes show in a demo that runs a while. */
  accessTokenTtl?: number
}

export interface DemoProvider {
  issuer: string
  close(): Promise<void>
}

export async function startDemoProvider(options: DemoProviderOptions): Promise<DemoProvider> {
  quietDevelopmentNotices()
  const { default: Provider } = await import('oidc-provider')
  const issuer = `http://127.0.0.1:${options.port}`
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code', 'refresh_token'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // every username is an account of its own
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, name: sub }) }),
    claims: { openid: ['sub'], profile: ['name'] },
    features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
    pkce: { required: () => true },
    // a refresh token with every code grant, valid while the demo runs
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    ttl: { AccessToken: options.accessTokenTtl ?? 600, RefreshToken: 14 * 24 * 3600 },
  })
  const server = createServer(provider.callback())
  server.listen(options.port, '127.0.0.1')
  await once(server, 'listening')
  return {
    issuer,
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

// oidc-provider warns at start that its in-memory store, development keys and login pages are for development:
// exactly what a demo is, so these lines are dropped.
function quietDevelopmentNotices(): void {
  const warn = console.warn.bind(console)
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE): /.test(args[0])) return
    warn(...args)
  }
  const info = console.info.bind(console)
  console.info = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && /oidc-provider (WARNING|NOTICE): /.test(args[0])) return
    info(...args)
  }
}
