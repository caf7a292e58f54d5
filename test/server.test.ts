// The process as an operator starts it on a fresh machine: no environment at all, so every default applies,
// the database is the embedded one and the secrets are generated into ./data.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import t from 'tap'
import { migrationsDir } from '../src/db/migrate.js'
import { freePort } from './support/ports.js'

const serverEntry = join(import.meta.dirname, '..', 'src', 'server.ts')
// resolved here, since the server's working directory has no node_modules
const tsx = import.meta.resolve('tsx')
const committedMigrations = readdirSync(migrationsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort()

interface Running {
  child: ChildProcess
  logs: () => { level: number; msg: string }[]
}

function start(cwd: string, port: number): Running {
  const child = spawn(process.execPath, ['--import', tsx, serverEntry], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr?.pipe(process.stderr)
  const logs = () =>
    stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string })
  return { child, logs }
}

/** Polls /readyz until it answers 200; fails early if the process exits. */
async function readyz(running: Running, port: number, timeoutMs = 150_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (running.child.exitCode !== null) throw new Error(`server exited with ${running.child.exitCode}`)
    const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined)
    if (res?.status === 200) return res
    if (Date.now() > deadline) throw new Error('server not ready in time')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function stop({ child }: Running): Promise<{ code: number | null; ms: number }> {
  const started = Date.now()
  child.kill('SIGTERM')
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, ms: Date.now() - started }
}

/** Opens the embedded database directory directly, as nothing but the test uses it while the server is down. */
async function withDatabase<T>(dir: string, fn: (db: PGlite) => Promise<T>): Promise<T> {
  const db = await PGlite.create(dir)
  try {
    return await fn(db)
  } finally {
    await db.close()
  }
}

const warnings = (running: Running) =>
  running
    .logs()
    .filter((line) => line.level === 40)
    .map((line) => line.msg)

t.test('started with no environment it becomes ready; stopped and started again it keeps its data', async (t) => {
  const cwd = mkdtempSync(join(tmpdir(), 'tb-clean-'))
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }))
  const port = await freePort()
  const dataDir = join(cwd, 'data')
  const pgliteDir = join(dataDir, 'pglite')

  const first = start(cwd, port)
  t.teardown(() => first.child.kill('SIGKILL'))
  const res = await readyz(first, port)
  t.same(await res.json(), { status: 'ready' })
  const startupWarnings = [
    `DATABASE_URL is not set: using the embedded database in ${dataDir}`,
    `ENCRYPTION_KEYS, COOKIE_SECRET, ADMIN_TOKEN not set: using development values from ${join(dataDir, 'secrets.json')}`,
  ]
  for (const warning of startupWarnings) t.ok(warnings(first).includes(warning), `it warns: ${warning}`)
  t.ok(
    first.logs().some((line) => line.msg === 'migrations applied'),
    'the first start applies the migrations',
  )
  t.ok(statSync(pgliteDir).isDirectory(), 'the embedded database lives in ./data/pglite')
  const secrets = readFileSync(join(dataDir, 'secrets.json'), 'utf8')
  t.match(JSON.parse(secrets), { ENCRYPTION_KEYS: /^dev1:/, COOKIE_SECRET: String, ADMIN_TOKEN: String })
  t.equal(statSync(join(dataDir, 'secrets.json')).mode & 0o777, 0o600, 'the secrets file is private')

  const firstStop = await stop(first)
  t.equal(firstStop.code, 0, 'SIGTERM exits 0')
  // generous for a loaded machine, yet shorter than a close that waits for the scheduler's next 15 s tick
  t.ok(firstStop.ms < 10_000, `and promptly (${firstStop.ms} ms)`)

  await withDatabase(pgliteDir, (db) =>
    db.query(`INSERT INTO api_clients (id, name, key_hash, key_prefix) VALUES ($1, 'survivor', $2, 'tbk_test')`, [
      '6f9c1c55-7d4e-4f59-9a39-2f6f3c1e0b11',
      new Uint8Array([1, 2, 3]),
    ]),
  )

  const second = start(cwd, port)
  t.teardown(() => second.child.kill('SIGKILL'))
  await readyz(second, port)
  for (const warning of startupWarnings) t.ok(warnings(second).includes(warning), `it warns again: ${warning}`)
  t.notOk(
    second.logs().some((line) => line.msg === 'migrations applied'),
    'nothing left to migrate',
  )
  t.equal(readFileSync(join(dataDir, 'secrets.json'), 'utf8'), secrets, 'the generated secrets are reused')
  const secondStop = await stop(second)
  t.equal(secondStop.code, 0, 'SIGTERM exits 0 again')

  await withDatabase(pgliteDir, async (db) => {
    const clients = await db.query<{ name: string }>(`SELECT name FROM api_clients`)
    t.same(clients.rows, [{ name: 'survivor' }], 'the row written between the runs is still there')
    const migrations = await db.query<{ migration_name: string }>(
      `SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name`,
    )
    t.same(
      migrations.rows.map((row) => row.migration_name),
      committedMigrations,
      'each migration applied exactly once',
    )
  })
})
