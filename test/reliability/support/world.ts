// Everything a reliability scenario runs against: a Postgres of its own, a real authorization server (oidc-provider,
// rotating refresh tokens), the broker as a separate process configured by environment, a provider and a caller made
// through the admin API, and an in-process "inspector" app on the same database to mint connections and read them.
import { randomBytes } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from '../../../src/app.js'
import { openDatabase, type Database } from '../../../src/db/client.js'
import { applyMigrations } from '../../../src/db/migrate.js'
import { openRefreshToken } from '../../../src/services/connection-tokens.js'
import { callbackUrl } from '../../../src/urls/public.js'
import { testConfig } from '../../helper.js'
import { startAuthServer, type AuthServerHandle, type AuthServerOptions } from '../../support/auth-server.js'
import { mintUsers, type ConnectedUser, type Idp } from '../../support/token-fixture.js'
import { startBroker, type BrokerEnv, type BrokerProcess } from './broker.js'
import { freePort } from '../../support/ports.js'
import { startPrivatePostgres, type PrivatePostgres } from './postgres.js'

export const PROVIDER_ID = 'idp'
export const RETURN_PREFIX = 'https://app.example.test/'

export interface WorldOptions {
  name: string
  authServer?: Omit<AuthServerOptions, 'clients'>
  broker?: Partial<
    Pick<BrokerEnv, 'REFRESH_INTERVAL_SECONDS' | 'REFRESH_WINDOW_SECONDS' | 'REFRESH_CONCURRENCY' | 'LOG_LEVEL'>
  >
}

export interface World {
  readonly workDir: string
  readonly postgres: PrivatePostgres
  readonly databaseUrl: string
  readonly server: AuthServerHandle
  readonly inspector: FastifyInstance
  readonly broker: BrokerProcess
  readonly brokerEnv: BrokerEnv
  readonly adminHeaders: { authorization: string }
  readonly caller: { id: string; headers: { authorization: string } }
  /** Connections with real grants at the authorization server, stored as the callback would store them. */
  mint(userIds: string[]): Promise<ConnectedUser[]>
  /** SIGTERM, then SIGKILL if it has not stopped within 20 s; resolves with how it ended. */
  stopBroker(): Promise<{ graceful: boolean }>
  /** Starts the broker again after it ended (same environment, same port, log appended). */
  restartBroker(): Promise<BrokerProcess>
  /** `GET /tokens/:userId` URL for the load. */
  tokenUrl(userId: string, minTtl?: number): string
  /** For each connection: is its stored refresh token still valid at the authorization server? */
  refreshTokensAtProvider(): Promise<{ valid: string[]; invalid: string[]; missing: string[] }>
  close(): Promise<void>
}

export async function createWorld(options: WorldOptions): Promise<World> {
  const workDir = mkdtempSync(join(tmpdir(), `tb-reliability-${options.name}-`))
  const postgres = await startPrivatePostgres()
  const closers: Array<() => Promise<unknown>> = [() => postgres.destroy()]
  try {
    const databaseUrl = await postgres.createDatabase('token_broker')
    await applyMigrations(databaseUrl)

    const key = { id: 'k1', key: randomBytes(32) }
    const port = await freePort()
    const brokerEnv: BrokerEnv = {
      DATABASE_URL: databaseUrl,
      PORT: port,
      ENCRYPTION_KEYS: `${key.id}:${key.key.toString('base64')}`,
      COOKIE_SECRET: randomBytes(32).toString('base64url'),
      ADMIN_TOKEN: randomBytes(32).toString('base64url'),
      REFRESH_INTERVAL_SECONDS: 2,
      REFRESH_WINDOW_SECONDS: 300,
      REFRESH_CONCURRENCY: 8,
      ...options.broker,
    }
    const publicUrl = new URL(`http://127.0.0.1:${port}`)
    const clientSecret = randomBytes(16).toString('hex')
    const server = await startAuthServer({
      rotateRefreshToken: true,
      ...options.authServer,
      clients: [
        {
          client_id: `broker-${PROVIDER_ID}`,
          client_secret: clientSecret,
          redirect_uris: [callbackUrl(publicUrl, PROVIDER_ID).href],
        },
      ],
    })
    closers.push(() => server.close())

    const logFile = join(workDir, 'broker.log')
    let broker = await startBroker(brokerEnv, logFile)
    const stopBroker = async () => {
      if (!broker.alive()) return { graceful: false }
      const exited = broker.exited
      void broker.kill('SIGTERM')
      const graceful = await Promise.race([exited.then(() => true), sleepMs(20_000).then(() => false)])
      if (!graceful) await broker.kill('SIGKILL')
      return { graceful }
    }
    closers.push(stopBroker)
    const adminHeaders = { authorization: `Bearer ${brokerEnv.ADMIN_TOKEN}` }
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${broker.url}${path}`, {
        method: 'POST',
        headers: { ...adminHeaders, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`)
      return (await res.json()) as Record<string, string>
    }
    await post('/admin/providers', {
      id: PROVIDER_ID,
      issuer: server.issuer,
      clientId: `broker-${PROVIDER_ID}`,
      clientSecret,
      scopes: ['openid', 'offline_access'],
    })
    const created = await post('/admin/clients', {
      name: 'reliability',
      allowedProviders: [PROVIDER_ID],
      allowedReturnTo: [RETURN_PREFIX],
    })
    const caller = { id: created.id as string, headers: { authorization: `Bearer ${created.apiKey}` } }

    const database: Database = openDatabase({ url: databaseUrl, poolSize: 4 })
    const inspector = await buildApp({
      config: testConfig({
        ENCRYPTION_KEYS: [key],
        ADMIN_TOKEN: brokerEnv.ADMIN_TOKEN,
        COOKIE_SECRET: brokerEnv.COOKIE_SECRET,
        REFRESH_WINDOW_SECONDS: brokerEnv.REFRESH_WINDOW_SECONDS,
        PUBLIC_URL: publicUrl,
      }),
      database,
      logger: pino({ level: 'silent' }),
      background: false,
    })
    await inspector.ready()
    closers.push(async () => {
      await inspector.close()
      await database.close()
    })
    const idp = { server, providerId: PROVIDER_ID } as Idp

    return {
      workDir,
      postgres,
      databaseUrl,
      server,
      inspector,
      get broker() {
        return broker
      },
      brokerEnv,
      adminHeaders,
      caller,
      mint: (userIds) => mintUsers(inspector, idp, userIds),
      stopBroker,
      async restartBroker() {
        if (broker.alive()) throw new Error('the broker is still running')
        broker = await startBroker(brokerEnv, logFile)
        return broker
      },
      tokenUrl: (userId, minTtl) =>
        `${broker.url}/tokens/${encodeURIComponent(userId)}?provider=${PROVIDER_ID}` +
        (minTtl === undefined ? '' : `&minTtl=${minTtl}`),
      async refreshTokensAtProvider() {
        const {
          keyring,
          db: { prisma },
        } = inspector.deps
        const rows = await prisma.connection.findMany({ select: { id: true, refreshTokenEnc: true } })
        const out = { valid: [] as string[], invalid: [] as string[], missing: [] as string[] }
        for (const row of rows) {
          const token = openRefreshToken(keyring, row)?.reveal()
          if (!token) out.missing.push(row.id)
          else if ((await server.introspect(token)).active) out.valid.push(row.id)
          else out.invalid.push(row.id)
        }
        return out
      },
      async close() {
        for (const close of closers.reverse()) await close().catch(() => {})
      },
    }
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {})
    throw err
  }
}

export const sleepMs = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return true
    if (Date.now() >= deadline) return false
    await sleepMs(everyMs)
  }
}
