import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedDatabase {
  url: string
  /**
   * How many connections a pool may open to it: one. PGlite is a single Postgres session that the socket
   * server shares between connections message by message, so when a statement fails on one connection the
   * session discards the other connections' messages until its Sync, and their queries fail with
   * "unnamed prepared statement does not exist". PGlite runs one statement at a time anyway.
   */
  poolSize: number
  close(): Promise<void>
}

/**
 * PGlite, a real Postgres compiled to WebAssembly, kept in `dataDir` and served on a loopback port so that the
 * service talks to it through the same driver, adapter and migrations as to a Postgres server.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = join(dataDir, 'pglite')
  mkdirSync(dir, { recursive: true })
  const release = lockDataDir(dataDir)
  let db: PGlite | undefined
  try {
    db = await PGlite.create(dir)
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 })
    await server.start()
    const opened = db
    return {
      url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
      poolSize: 1,
      async close() {
        await server.stop()
        await opened.close()
        release()
      },
    }
  } catch (err) {
    await db?.close()
    release()
    throw err
  }
}

/** Refused start: another process has the embedded database open. */
export class DataDirLockedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DataDirLockedError'
  }
}

/**
 * One process at a time on an embedded database: PGlite has no server of its own to share it, and two processes
 * writing its files lose each other's writes. The lock is a file naming the holder's process; one left by a process
 * that has gone (a crash, a killed container) is taken over. Returns the release, also run at exit.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'embedded.lock')
  const mine = JSON.stringify({ pid: process.pid, hostname: hostname() })
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o600 })
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const holder = readHolder(file)
      if (holder && holderIsAlive(holder)) {
        const where = holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`
        throw new DataDirLockedError(
          `DATA_DIR ${dataDir} is in use by another token-broker (process ${holder.pid}${where}): stop it, or give ` +
            'this one another DATA_DIR or a DATABASE_URL (one embedded database serves one process); ' +
            `if that process has gone, remove ${file}`,
        )
      }
      if (attempt >= 3) throw new DataDirLockedError(`DATA_DIR ${dataDir}: cannot take ${file}`)
      rmSync(file, { force: true }) // left by a process that has gone
    }
  }
  let held = true
  const release = () => {
    if (!held) return
    held = false
    process.off('exit', release)
    if (readHolder(file)?.pid === process.pid) rmSync(file, { force: true })
  }
  process.on('exit', release)
  return release
}

function readHolder(file: string): { pid: number; hostname: string } | undefined {
  try {
    const holder = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; hostname?: unknown }
    if (typeof holder.pid === 'number' && typeof holder.hostname === 'string') {
      return { pid: holder.pid, hostname: holder.hostname }
    }
  } catch {
    // unreadable or half written: treated as left behind
  }
  return undefined
}

function holderIsAlive({ pid, hostname: host }: { pid: number; hostname: string }): boolean {
  // another machine's process (a shared volume) cannot be checked from here: taken as alive, to be safe
  if (host !== hostname()) return true
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
