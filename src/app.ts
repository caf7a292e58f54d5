import { randomUUID } from 'node:crypto'
import cookie from '@fastify/cookie'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Config } from './config.js'
import type { Db } from './db/client.js'
import { installErrorHandler } from './http/error-handler.js'
import auth from './http/plugins/auth.js'
import swagger from './http/plugins/swagger.js'
import healthRoutes from './http/routes/health/index.js'
import { createLogger } from './logger.js'

export interface AppOptions {
  config: Config
  prisma: Db
  logger?: Logger
  /** The clock every service reads; tests move it. */
  now?: () => Date
  /** The fetch used for every call to a provider; tests inject faults through it. */
  fetch?: typeof globalThis.fetch
  /** Identifies this instance in leases; defaults to a random id. */
  instanceId?: string
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Builds the service on a given database. Wiring happens here and nowhere else. */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, prisma } = options
  const app = Fastify({
    loggerInstance: (options.logger ?? createLogger(config.LOG_LEVEL)) as FastifyBaseLogger,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
    },
    bodyLimit: 64 * 1024,
    trustProxy: false,
    return503OnClosing: true,
  })
  installErrorHandler(app)

  await app.register(swagger)
  await app.register(cookie, { secret: config.COOKIE_SECRET })
  await app.register(auth, { prisma, adminToken: config.ADMIN_TOKEN })
  await app.register(healthRoutes, { prisma })

  return app
}
