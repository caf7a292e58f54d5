// Logs for people: health probes below info, a start banner, pretty lines on request, and provider failures that
// name the URL called and the error's code.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { loggerOptions } from '../src/logger.js'
import { ADMIN_TOKEN, build, LogCapture, testConfig } from './helper.js'
import { createTestDatabase, openTestDatabase } from './support/database.js'
import { createCaller, createProvider } from './support/fixtures.js'
import { freePort } from './support/ports.js'

const repoRoot = join(import.meta.dirname, '..')

t.test('probes and scrapes log nothing at info and one line each at debug', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  for (const level of ['info', 'debug'] as const) {
    const logs = new LogCapture()
    const app = await buildApp({
      config: testConfig(),
      database: db,
      logger: pino(loggerOptions(level), logs),
      background: false,
    })
    t.teardown(() => app.close())
    for (const url of ['/healthz', '/readyz', '/metrics', '/healthz?x=1']) {
      t.equal((await app.inject({ method: 'GET', url })).statusCode, 200, url)
    }
    await app.inject({ method: 'GET', url: '/admin/clients', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    const lines = logs.lines.map((line) => JSON.parse(line) as { level: number; msg: string; req?: { path: string } })
    const probeLines = lines.filter((line) => line.req?.path && /^\/(healthz|readyz|metrics)$/.test(line.req.path))
    if (level === 'info') t.same(probeLines, [], 'no probe line at info')
    else {
      t.same(
        probeLines.map((line) => [line.level, line.msg, line.req?.path]),
        [
          [20, 'probe', '/healthz'],
          [20, 'probe', '/readyz'],
          [20, 'probe', '/metrics'],
          [20, 'probe', '/healthz'],
        ],
        'one debug line per probe',
      )
    }
    t.ok(
      lines.some((line) => line.msg === 'request completed' && line.req === undefined) ||
        lines.some((line) => line.msg === 'incoming request' && line.req?.path === '/admin/clients'),
      'other requests are still logged',
    )
  }
})

t.test('a provider that cannot be reached is logged with its URL and the error code', async (t) => {
  const { app, logs } = await build(t, { background: false })
  const closed = await freePort()
  const issuer = `http://127.0.0.1:${closed}/realms/x`
  await createProvider(app, { id: 'offline', issuer })
  const caller = await createCaller(app, { allowedProviders: ['offline'] })
  const created = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: caller.headers,
    payload: { provider: 'offline', userId: 'u1' },
  })
  const start = await app.inject({ method: 'GET', url: new URL(created.json().url).pathname })
  t.equal(start.statusCode, 503)
  const line = logs.lines.map((text) => JSON.parse(text)).find((entry) => /^discovery failed: /.test(entry.msg))
  t.match(line, {
    level: 40,
    msg: 'discovery failed: could not reach the provider',
    provider: 'offline',
    url: issuer,
    errorCode: 'ECONNREFUSED',
  })
})

t.test(
  'started with LOG_FORMAT=pretty: readable lines and a banner with the URL, /docs and the admin token',
  async (t) => {
    const database = await createTestDatabase()
    t.teardown(() => database.drop())
    const port = await freePort()
    const dataDir = mkdtempSync(join(tmpdir(), 'tb-banner-'))
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'server.ts')], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        DATABASE_URL: database.url,
        DATA_DIR: dataDir,
        LOG_FORMAT: 'pretty',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
    const deadline = Date.now() + 60_000
    while (!/token-broker ready[\s\S]*adminToken/.test(output) && Date.now() < deadline && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    child.kill('SIGTERM')
    await once(child, 'exit')
    t.match(output, /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: token-broker ready$/m, 'a local time and a level name')
    t.match(output, new RegExp(`^ {4}listening: "http://127\\.0\\.0\\.1:${port}"$`, 'm'))
    t.match(output, new RegExp(`^ {4}docs: "http://localhost:${port}/docs"$`, 'm'))
    t.match(output, new RegExp(`^ {4}adminToken: "ADMIN_TOKEN in ${dataDir}/secrets\\.json"$`, 'm'))
    t.match(output, /WARN: ENCRYPTION_KEYS, COOKIE_SECRET, ADMIN_TOKEN not set/)
    t.notMatch(output, /^\{/m, 'no JSON line')
  },
)
