// A Postgres server of the scenario's own (Debian's binaries, a cluster in a temporary directory, its own port), so
// a scenario can stop and start it without touching the shared server the other suites use.
import { execFile } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from '../../support/ports.js'

const run = promisify(execFile)
const BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'

export interface PrivatePostgres {
  readonly port: number
  /** postgresql://postgres@127.0.0.1:<port>/<database> */
  url(database?: string): string
  createDatabase(name: string): Promise<string>
  /** Fast shutdown (`-m fast`): sessions are terminated, the port closes. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>
  start(): Promise<void>
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>
}

// initdb and postgres refuse to run as root: the cluster belongs to the postgres user when we are root.
function asPostgres(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  if (process.getuid?.() === 0) return run('runuser', ['-u', 'postgres', '--', command, ...args])
  return run(command, args)
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'tb-reliability-pg-'))
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const uid = Number(stdout.trim())
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chownSync(dir, uid, Number(gid.trim()))
  }
  const data = join(dir, 'data')
  await asPostgres(join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8'])
  const port = await freePort()
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ')
  const pgCtl = (...args: string[]) => asPostgres(join(BIN, 'pg_ctl'), ['-D', data, ...args])
  const url = (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`

  const handle: PrivatePostgres = {
    port,
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${name}`)
      } finally {
        await client.end()
      }
      return url(name)
    },
    async stop(mode = 'fast') {
      await pgCtl('-m', mode, '-w', '-t', '60', 'stop')
    },
    async start() {
      await pgCtl('-o', options, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', 'start')
    },
    async destroy() {
      await handle.stop('immediate').catch(() => {})
      rmSync(dir, { recursive: true, force: true })
    },
  }
  await handle.start()
  return handle
}
