import { CIRCUIT_STATE_VALUE, DEFAULT_CIRCUIT_THRESHOLD, ProviderCircuits } from '../providers/circuits.js'
// The use cases, built once from the dependencies: what the HTTP routes, the scheduler and the start-up code call.
import type { ConnectionKey } from '../db/connections/index.js'
import type { Deps } from '../deps.js'
import { createWebhookDeliveries } from '../webhooks/deliveries.js'
import { createWebhookEndpoints } from '../webhooks/endpoints.js'
import { createAuditService } from './audit.js'
import { createAuthorizationService } from './authorization.js'
import { createCallbackService } from './callback.js'
import { createCallerService } from './callers.js'
import { createClientService } from './clients.js'
import { createConnectionViews } from './connections.js'
import { createBulkImport } from './bulk-import.js'
import { createImports } from './imports.js'
import { createKeyRotation } from './key-rotation.js'
import { createMachineConnections } from './machine-connections.js'
import { createProviderService } from './providers.js'
import { createRefreshService } from './refresh.js'
import { createConnectionRevoker } from './revoke-connection.js'
import { createTokenService } from './serve-token.js'
import { createConfirmations } from './confirmations.js'
import { createGrantStore } from './grants.js'
import { createExpiryWarnings } from './expiry-warnings.js'
import { DatabaseOutage, LastKnown, RECALL_WINDOW_MS } from './database-outage.js'
import { keyOf, TokenCache, type CachedToken } from './token-cache.js'

export interface ServicesOptions {
  /** Transient failures in a row after which a provider's circuit opens (default 5). */
  circuitThreshold?: number | undefined
}

export function createServices(deps: Deps, options: ServicesOptions = {}) {
  // one token cache for the instance: every stored change forgets the connection's entry at once
  const now = () => deps.now().getTime()
  const tokenCache = new TokenCache({ ttlMs: deps.timing.tokenCacheTtlMs, now })
  const outage = new DatabaseOutage(
    { graceMs: deps.config.DB_OUTAGE_GRACE_SECONDS * 1000, windowMs: RECALL_WINDOW_MS },
    now,
    deps.log,
  )
  const lastKnownTokens = new LastKnown<CachedToken>(outage, now)
  const onChange = (connection: ConnectionKey) => {
    tokenCache.forget(connection)
    lastKnownTokens.forget(keyOf(connection))
  }
  // one circuit per provider for the instance: the scheduler's refreshes and the ones callers ask for open it alike
  const circuits = new ProviderCircuits({
    threshold: options.circuitThreshold ?? DEFAULT_CIRCUIT_THRESHOLD,
    probeIntervalMs: deps.config.REFRESH_INTERVAL_SECONDS * 1000,
    log: deps.log,
    onState: (provider, state) => deps.metrics.providerCircuitState.set({ provider }, CIRCUIT_STATE_VALUE[state]),
  })
  const refresher = createRefreshService(deps, { onChange, circuits })
  const grants = createGrantStore(deps, { onChange })
  const confirmations = createConfirmations(deps, grants)
  const callers = createCallerService(deps, outage)
  const revoker = createConnectionRevoker(deps, { onChange })
  const imports = createImports(deps, { onChange })
  return {
    callers,
    clients: createClientService(deps, { onChange: callers.callerChanged }),
    providers: createProviderService(deps),
    authorizations: createAuthorizationService(deps),
    callbacks: createCallbackService(deps, { grants, confirmations }),
    confirmations,
    expiryWarnings: createExpiryWarnings(deps),
    tokens: createTokenService(deps, { refresher, circuits, cache: tokenCache, lastKnown: lastKnownTokens, outage }),
    tokenCache,
    refresher,
    circuits,
    revoker,
    machineConnections: createMachineConnections(deps, { revoker, onChange }),
    imports,
    bulkImport: createBulkImport(deps, imports),
    connections: createConnectionViews(deps),
    audit: createAuditService(deps),
    keys: createKeyRotation(deps),
    webhookEndpoints: createWebhookEndpoints(deps),
    webhookDeliveries: createWebhookDeliveries(deps),
  }
}

export type Services = ReturnType<typeof createServices>
