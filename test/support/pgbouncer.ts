// PgBouncer (Debian's package) in transaction mode in front of the test Postgres, on a free port, as replicas of a
// service run it in production: server connections are shared between clients statement by statement.
import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serverUrl } from './database.js'
import { accepting, freePort } from './ports.js'

export const PGBOUNCER = process.env.PGBOUNCER_BIN ?? '/usr/sbin/pgbouncer'

export interface Pgbouncer {
  /** The URL of `database` through the pooler. */
  url(database: string): string
  /** What PgBouncer logged. */
  log(): Promise<string>
  close(): Promise<void>
}

export async function startPgbouncer(options: { poolSize?: number } = {}): Promise<Pgbouncer> {
  const server = new URL(serverUrl)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tb-pgbouncer-'))
  const logFile = join(dir, 'pgbouncer.log')
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n')
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${server.hostname} port=${server.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize ?? 4}`,
      'max_client_conn = 200',
      `logfile = ${logFile}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    ].join('\n') + '\n',
  )
  // PgBouncer will not run as root: it switches to the postgres user, which must reach its files
  const asRoot = process.getuid?.() === 0
  if (asRoot) chmodSync(dir, 0o777)
  const child: ChildProcess = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  for (let attempt = 0; !(await accepting(port)); attempt++) {
    if (attempt > 100 || child.exitCode !== null) throw new Error(`pgbouncer did not start: ${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    url(database) {
      const url = new URL(serverUrl)
      url.port = String(port)
      url.pathname = `/${database}`
      return url.href
    },
    async log() {
      const { readFile } = await import('node:fs/promises')
      return readFile(logFile, 'utf8').catch(() => '')
    },
    async close() {
      child.kill('SIGTERM')
      await exited
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
