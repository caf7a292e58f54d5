import fp from 'fastify-plugin'
import { createRefreshService, type RefreshService } from '../../services/refresh.js'
import { createConnectionRevoker, type ConnectionRevoker } from '../../services/revoke-connection.js'
import { createTokenService, type TokenService } from '../../services/serve-token.js'
import { TokenCache } from '../../services/token-cache.js'

export interface TokenServices {
  /** Refreshes one connection now, sharing a refresh in flight (`refresher.refresh(id, request)`). */
  refresher: RefreshService
  /** GET /tokens. */
  tokens: TokenService
  /** Revoke at the provider, then delete. */
  revoker: ConnectionRevoker
  cache: TokenCache
  /** How long a request waits for another instance's refresh of the same connection. */
  waitMs: number
}

declare module 'fastify' {
  interface FastifyInstance {
    tokenServices: TokenServices
  }
}

export interface TokenServicesOptions {
  /** How long a refresh lease lasts; longer than a provider call (discovery and grant) can take. */
  leaseSeconds: number
  /** How long a request waits for another instance's refresh of the same connection before answering 503. */
  waitSeconds: number
  /** How long a served token is reused without reading the database; 0 turns the cache off. */
  cacheTtlMs?: number
}

/** The services behind GET /tokens, DELETE /connections and the admin refresh, sharing one token cache. */
export default fp<TokenServicesOptions>(
  async (app, { leaseSeconds, waitSeconds, cacheTtlMs }) => {
    const { deps } = app
    const cache = new TokenCache({
      now: () => deps.now().getTime(),
      ...(cacheTtlMs === undefined ? {} : { ttlMs: cacheTtlMs }),
    })
    const onChange = (connection: { providerId: string; userId: string }) =>
      cache.forget(connection.providerId, connection.userId)
    const refresher = createRefreshService(deps, { leaseSeconds, onChange })
    const waitMs = waitSeconds * 1000
    app.decorate('tokenServices', {
      refresher,
      tokens: createTokenService(deps, { refresher, cache, waitMs }),
      revoker: createConnectionRevoker(deps, { leaseSeconds, waitMs, onChange }),
      cache,
      waitMs,
    })
    // preClose: the database is closed by an onClose hook, and storing a refresh in flight needs it
    app.addHook('preClose', async () => refresher.drain())
  },
  { name: 'token-services' },
)
