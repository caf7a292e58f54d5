import { randomBytes, randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import cookie from '@fastify/cookie'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import { Keyring } from './crypto/keyring.js'
import type { Database } from './db/client.js'
import { resolveTiming, type Deps, type Timing } from './deps.js'
import { closeAfterEarlyAnswer, connectionTimeouts } from './http/connection-limits.js'
import { answerFrameworkError, formatValidationErrors, installErrorHandler } from './http/error-handler.js'
import { guardInputs } from './http/input-guards.js'
import { lazyCompilers } from './http/lazy-compilers.js'
import { ProbeQuietLogController } from './http/request-logging.js'
import auth from './http/plugins/auth.js'
import background from './http/plugins/background.js'
import gracefulClose from './http/plugins/graceful-close.js'
import rateLimits from './http/plugins/rate-limit.js'
import securityHeaders from './http/plugins/security-headers.js'
import swagger from './http/plugins/swagger.js'
import auditRoutes from './http/routes/admin/audit.js'
import adminClientRoutes from './http/routes/admin/clients.js'
import adminConnectionActions from './http/routes/admin/connection-actions.js'
import adminConnectionRoutes from './http/routes/admin/connections.js'
import adminImportRoutes from './http/routes/admin/imports.js'
import keyRoutes from './http/routes/admin/keys.js'
import adminMachineConnectionRoutes from './http/routes/admin/machine-connections.js'
import adminProviderRoutes from './http/routes/admin/providers.js'
import adminTemplateRoutes from './http/routes/admin/templates.js'
import authorizationRoutes from './http/routes/authorizations/index.js'
import connectionRoutes from './http/routes/connections/index.js'
import healthRoutes from './http/routes/health/index.js'
import metricsRoutes from './http/routes/metrics/index.js'
import oauthRoutes from './http/routes/oauth/index.js'
import tokenRoutes from './http/routes/tokens/index.js'
import adminWebhookRoutes from './http/routes/webhooks/admin.js'
import callerWebhookRoutes from './http/routes/webhooks/caller.js'
import { censorChildBindings, createLogger } from './logger.js'
import { createMetrics } from './metrics.js'
import { ProviderRegistry } from './providers/registry.js'
import { loadCatalogue, type TemplateCatalogue } from './providers/templates/catalogue.js'
import { createRefreshScheduler, type RefreshScheduler, type SchedulerOptions } from './scheduler/refresh-scheduler.js'
import { createServices, type Services } from './services/index.js'
import { createWebhookSender, type WebhookSender, type WebhookSenderOptions } from './webhooks/sender.js'
import { createWebhookTargets, type ResolveHost } from './webhooks/targets.js'

export interface AppOptions {
  config: Config
  database: Database
  logger?: Logger
  /** The clock every service reads; tests move it. */
  now?: () => Date
  /** The fetch used for every call to a provider; tests inject faults through it. */
  fetch?: typeof globalThis.fetch
  /** Identifies this instance in leases; defaults to host, pid and a random suffix. */
  instanceId?: string
  /** Start the refresh scheduler and webhook sender (default true); tests that drive them by hand turn them off. */
  background?: boolean
  /** Provider timeout, leases, waits and caches; tests shorten them. */
  timing?: Partial<Timing>
  /** How webhook hosts are resolved for the address rule (default: the system resolver); tests map names. */
  resolveHost?: ResolveHost
  /** Refresh daemon tuning (the circuit breaker's threshold); tests lower it. */
  scheduler?: SchedulerOptions
  /** Webhook sender tuning (timeout, poll interval, concurrency); tests shorten it. */
  webhooks?: Partial<WebhookSenderOptions>
  /** The provider templates; default: the built-in ones and those of TEMPLATES_FILE. */
  templates?: TemplateCatalogue
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: Deps
    services: Services
    /** The refresh daemon; `scheduler.tick()` refreshes everything due now and resolves with a report. */
    scheduler: RefreshScheduler
    /** `webhookSender.deliverDue()` sends every delivery due now and waits for the outcomes. */
    webhookSender: WebhookSender
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Builds the service on a given database. Wiring happens here and nowhere else: the dependencies, the services built
 * from them once, the daemons, then the HTTP plugins and routes, which only decorate, hook lifecycles and call
 * services.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config } = options
  const timing = resolveTiming(options.timing)
  const logger = censorChildBindings(
    options.logger ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT }),
  )
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    bodyLimit: 64 * 1024,
    ...connectionTimeouts(config.REQUEST_TIMEOUT_SECONDS, timing),
    // path parameters are bounded by their route schemas (a userId takes 256 characters), not by the router's 100
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: answerFrameworkError,
    // `example` feeds the OpenAPI document and Swagger UI; the validator is told it is only an annotation. Fastify's
    // default drops fields a schema does not name, so a misspelled "scope" for "scopes" would answer 201: refused.
    ajv: { customOptions: { keywords: ['example'], removeAdditional: false } },
    schemaErrorFormatter: formatValidationErrors,
    // each route's validators and serializers compile on its first request, not all of them at start
    schemaController: lazyCompilers(),
    trustProxy: config.TRUST_PROXY ?? false,
    return503OnClosing: true,
    logController: new ProbeQuietLogController(),
    // close() runs under this timeout too: it must outlast the work in flight at SIGTERM, at most a refresh holding
    // its lease or a request waiting for another instance's refresh, or the process exits 1 in the middle of it
    pluginTimeout: Math.max(timing.leaseSeconds * 1000, timing.waitMs) + 10_000,
  })
  installErrorHandler(app)
  guardInputs(app)
  closeAfterEarlyAnswer(app)
  // hooks on every request take a callback, not a promise: one less promise and microtask per request
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  const keyring = new Keyring(config.ENCRYPTION_KEYS)
  const templates = options.templates ?? loadCatalogue(config.TEMPLATES_FILE).catalogue
  const webhookTargets = createWebhookTargets({
    production: config.NODE_ENV === 'production',
    allowed: config.WEBHOOK_ALLOWED_HOSTS,
    ...(options.resolveHost ? { resolve: options.resolveHost } : {}),
  })
  app.addHook('onClose', () => webhookTargets.close())
  const deps: Deps = {
    config,
    db: options.database,
    keyring,
    metrics: createMetrics({ statements: options.database.statementCount }),
    providers: new ProviderRegistry({
      keyring,
      timeoutSeconds: timing.providerTimeoutSeconds,
      templates,
      log: logger,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }),
    templates,
    webhookTargets,
    now: options.now ?? (() => new Date()),
    instanceId: options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    log: logger,
    timing,
  }
  const services = createServices(deps, { circuitThreshold: options.scheduler?.circuitThreshold })
  const scheduler = createRefreshScheduler(deps, {
    refresher: services.refresher,
    circuits: services.circuits,
    sweepUnconfirmed: services.confirmations.sweep,
    warnExpiring: services.expiryWarnings.warnExpiring,
    pruneDeliveries: services.webhookDeliveries.prune,
  })
  const webhookSender = createWebhookSender(deps, options.webhooks)
  app.decorate('deps', deps)
  app.decorate('services', services)
  app.decorate('scheduler', scheduler)
  app.decorate('webhookSender', webhookSender)

  await app.register(gracefulClose)
  await app.register(securityHeaders, { https: config.PUBLIC_URL.protocol === 'https:' })
  await app.register(swagger, { persistAuthorization: config.DOCS_PERSIST_AUTHORIZATION })
  await app.register(cookie, { secret: config.COOKIE_SECRET })
  await app.register(rateLimits)
  await app.register(auth, { callers: services.callers, adminToken: config.ADMIN_TOKEN })
  await app.register(background, {
    scheduler,
    webhookSender,
    refresher: services.refresher,
    run: options.background !== false,
  })

  // routes
  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  await app.register(authorizationRoutes)
  await app.register(oauthRoutes)
  await app.register(adminProviderRoutes, { prefix: '/admin' })
  await app.register(adminTemplateRoutes, { prefix: '/admin' })
  await app.register(adminClientRoutes, { prefix: '/admin' })
  await app.register(tokenRoutes)
  await app.register(connectionRoutes)
  await app.register(adminConnectionRoutes, { prefix: '/admin' })
  await app.register(adminConnectionActions, { prefix: '/admin' })
  await app.register(adminMachineConnectionRoutes, { prefix: '/admin' })
  await app.register(adminImportRoutes, { prefix: '/admin' })
  await app.register(auditRoutes, { prefix: '/admin' })
  await app.register(keyRoutes, { prefix: '/admin' })
  await app.register(callerWebhookRoutes)
  await app.register(adminWebhookRoutes, { prefix: '/admin' })

  return app
}
