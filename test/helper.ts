import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp, type AppOptions } from '../src/app.js'
import { loadConfig, type Config } from '../src/config.js'
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

const key = (entry: { id: string; key: Buffer }) => `${entry.id}:${entry.key.toString('base64')}`

/** The configuration as loadConfig reads it from a test environment, with `overrides` on top. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const { config } = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    PUBLIC_URL: 'http://127.0.0.1:3000',
    DATA_DIR: '/nonexistent',
    ENCRYPTION_KEYS: key(testKeys.primary),
    COOKIE_SECRET: 'test-cookie-secret-0123456789abcdefghijklmnop',
    ADMIN_TOKEN,
  })
  return { ...config, ...overrides }
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
  options: { config?: Partial<Config>; db?: TestDatabase } & Partial<Omit<AppOptions, 'config' | 'database'>> = {},
): Promise<Built> {
  const { config: overrides, db: given, ...rest } = options
  const db = given ?? (await openTestDatabase())
  if (!given) t.teardown(() => db.drop())
  const config = testConfig(overrides)
  const logs = new LogCapture()
  const logger = pino(loggerOptions(config.LOG_LEVEL), logs)
  const app = await buildApp({ config, database: db, logger, ...rest })
  t.teardown(() => app.close())
  await app.ready()
  return { app, db, config, logs }
}
