// The broker as operators run it: `src/server.ts` in a process of its own, configured by environment, so a scenario
// can SIGKILL it, restart it, and read its resident memory.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

export interface BrokerEnv {
  DATABASE_URL: string
  PORT: number
  ENCRYPTION_KEYS: string
  COOKIE_SECRET: string
  ADMIN_TOKEN: string
  REFRESH_INTERVAL_SECONDS?: number
  REFRESH_WINDOW_SECONDS?: number
  REFRESH_CONCURRENCY?: number
  LOG_LEVEL?: string
}

export interface BrokerProcess {
  readonly pid: number
  readonly url: string
  readonly logFile: string
  /** Resolves with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Whether the process is still running. */
  alive(): boolean
  /** Resident set size in bytes (from /proc). */
  rss(): number
  kill(signal: NodeJS.Signals): Promise<void>
  /** Log lines at level error or above (pino level >= 50), parsed. */
  errorLines(): Array<Record<string, unknown>>
}

/** Starts `node --import tsx src/server.ts` and resolves once /healthz answers. */
export async function startBroker(env: BrokerEnv, logFile: string): Promise<BrokerProcess> {
  const log = createWriteStream(logFile, { flags: 'a' })
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PUBLIC_URL: `http://127.0.0.1:${env.PORT}`,
      LOG_LEVEL: 'warn',
      ...Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value)])),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout?.pipe(log, { end: false })
  child.stderr?.pipe(log, { end: false })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  let ended = false
  void exited.then(() => {
    ended = true
  })
  const url = `http://127.0.0.1:${env.PORT}`
  const pid = child.pid as number

  const handle: BrokerProcess = {
    pid,
    url,
    logFile,
    exited,
    alive: () => !ended,
    rss() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
      return Number(kb ?? 0) * 1024
    },
    async kill(signal) {
      if (ended) return
      child.kill(signal)
      await exited
    },
    errorLines() {
      return readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>
          } catch {
            return {}
          }
        })
        .filter((line) => typeof line.level === 'number' && line.level >= 50)
    },
  }

  const deadline = Date.now() + 120_000
  for (;;) {
    if (ended) throw new Error(`the broker exited before it was ready; see ${logFile}`)
    try {
      const res = await fetch(`${url}/healthz`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await handle.kill('SIGKILL')
      throw new Error(`the broker was not ready within 120 s; see ${logFile}`)
    }
    await sleep(200)
  }
  return handle
}
