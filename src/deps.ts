// What services, the scheduler and the webhook sender are built from. Each takes only the parts it uses
// (`Pick<Deps, ...>`). Nothing here knows of HTTP: the logger is pino's own.
import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { Keyring } from './crypto/keyring.js'
import type { Database } from './db/client.js'
import type { Metrics } from './metrics.js'
import type { ProviderRegistry } from './providers/registry.js'
import type { TemplateCatalogue } from './providers/templates/catalogue.js'
import type { WebhookTargets } from './webhooks/targets.js'

export interface Deps {
  config: Config
  db: Database
  keyring: Keyring
  metrics: Metrics
  providers: ProviderRegistry
  /** The provider templates: built in, and those of TEMPLATES_FILE. */
  templates: TemplateCatalogue
  /** Where webhooks may go: the check at registration, and the fetch deliveries go through. */
  webhookTargets: WebhookTargets
  /** The clock every service reads; tests move it. */
  now: () => Date
  /** Identifies this instance in leases. */
  instanceId: string
  log: Logger
  timing: Timing
}

/** Timeouts and waits derived from one provider timeout; tests shorten them. */
export interface Timing {
  /** Seconds a call to a provider may take. */
  providerTimeoutSeconds: number
  /** How long a refresh lease lasts: longer than the slowest provider call (discovery plus grant) can take. */
  leaseSeconds: number
  /** How long a request waits for another instance's refresh of the same connection before answering 503. */
  waitMs: number
  /** How long a served token is reused without reading the database (0 turns the cache off). */
  tokenCacheTtlMs: number
  /** How long a looked-up API key is trusted before it is read again: bounds how late a revocation takes effect. */
  apiKeyCacheTtlMs: number
  /** How old the database-derived gauges of /metrics may be: however often it is scraped, one query per period. */
  metricsMaxAgeMs: number
  /** How old the database check of /readyz may be. */
  readinessMaxAgeMs: number
}

export const DEFAULT_PROVIDER_TIMEOUT_SECONDS = 10

export function resolveTiming(given: Partial<Timing> = {}): Timing {
  const providerTimeoutSeconds = given.providerTimeoutSeconds ?? DEFAULT_PROVIDER_TIMEOUT_SECONDS
  return {
    providerTimeoutSeconds,
    leaseSeconds: given.leaseSeconds ?? Math.max(30, 2 * providerTimeoutSeconds + 10),
    waitMs: given.waitMs ?? (providerTimeoutSeconds + 5) * 1000,
    tokenCacheTtlMs: given.tokenCacheTtlMs ?? 3_000,
    apiKeyCacheTtlMs: given.apiKeyCacheTtlMs ?? 2_000,
    metricsMaxAgeMs: given.metricsMaxAgeMs ?? 5_000,
    readinessMaxAgeMs: given.readinessMaxAgeMs ?? 1_000,
  }
}
