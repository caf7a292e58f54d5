import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp, type AppOptions } from '../src/app.js'
import type { Config } from '../src/config.js'
import { loggerOptions } from '../src/logger.js'
import { openTestDatabase, type TestDatabase } from './support/database.js'

interface Teardown {
  teardown(fn: () => unknown): void
}

export const testKeys = {
  primary: { id: 'k1', key: Buffer.alloc(32, 1) },
  secondary: { id: 'k2', key: Buffer.alloc(32, 2) },
}

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef'

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    NODE_ENV: 'test',
    PORT: 0,
    HOST: '127.0.0.1',
    PUBLIC_URL: new URL('http://127.0.0.1:3000'),
    TRUST_PROXY: undefined,
    DATABASE_URL: undefined,
    DATA_DIR: '/nonexistent',
    ENCRYPTION_KEYS: [testKeys.primary],
    COOKIE_SECRET: 'test-cookie-secret-0123456789abcdefghijklmnop',
    ADMIN_TOKEN,
    PROVIDERS_FILE: undefined,
    REFRESH_INTERVAL_SECONDS: 15,
    REFRESH_WINDOW_SECONDS: 300,
    REFRESH_CONCURRENCY: 8,
    LOG_LEVEL: 'info',
    ...overrides,
  }
}

/** Collects every log line an app writes, so tests can search them for secrets. */
export class LogCapture extends Writable {
  readonly lines: string[] = []

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  }

  get text(): string {
    return this.lines.join('\n')
  }
}

export interface Built {
  app: FastifyInstance
  db: TestDatabase
  config: Config
  logs: LogCapture
}

/** An app on a fresh database, closed and dropped when the test ends. */
export async function build(
  t: Teardown,
  options: { config?: Partial<Config>; db?: TestDatabase } & Partial<Omit<AppOptions, 'config' | 'prisma'>> = {},
): Promise<Built> {
  const { config: overrides, db: given, ...rest } = options
  const db = given ?? (await openTestDatabase())
  if (!given) t.teardown(() => db.drop())
  const config = testConfig(overrides)
  const logs = new LogCapture()
  const logger = pino(loggerOptions(config.LOG_LEVEL), logs)
  const app = await buildApp({ config, prisma: db.prisma, logger, ...rest })
  t.teardown(() => app.close())
  await app.ready()
  return { app, db, config, logs }
}

/**
 * Registers a provider given by its endpoints (no discovery) through the admin API, so a flow can start without
 * any network call.
 */
export async function addEndpointProvider(app: FastifyInstance, id = 'idp'): Promise<void> {
  const answer = await app.inject({
    method: 'POST',
    url: '/admin/providers',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: {
      id,
      clientId: 'c',
      clientSecret: 's',
      authorizationEndpoint: 'https://idp.example.test/authorize',
      tokenEndpoint: 'https://idp.example.test/token',
    },
  })
  if (answer.statusCode !== 201) throw new Error(`POST /admin/providers answered ${answer.statusCode}`)
}
