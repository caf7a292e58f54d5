// The measured processes: the broker from dist/ and the bare Fastify baseline, each a child process started with
// the same Node flags, logging to a file of its own.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const root = join(import.meta.dirname, '..', '..')
export const workDir = join(root, 'bench', '.work')

export { freePort } from '../../test/support/ports.js'

export interface Service {
  name: string
  url: string
  pid: number
  /** Resident set size of the process now, in MiB (VmRSS). */
  rssMb(): number
  /** CPU time the process has used so far (user + system), in seconds. */
  cpuSeconds(): number
  /** Lines the process logged at warn or above. */
  problems(): string[]
  stop(): Promise<void>
}

export interface ServiceOptions {
  name: string
  /** Script path relative to the repository root, run by plain `node`. */
  entry: string
  port: number
  env: Record<string, string>
  nodeFlags: string[]
  /** Path answering 200 once the service can take load. */
  readyPath: string
}

const running = new Set<ChildProcess>()

/** Stops every service still running; for a harness that is failing. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL')
}

export async function startService(options: ServiceOptions): Promise<Service> {
  mkdirSync(workDir, { recursive: true })
  const logFile = join(workDir, `${options.name}.log`)
  const log = createWriteStream(logFile)
  const child = spawn(process.execPath, [...options.nodeFlags, options.entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  child.once('exit', () => running.delete(child))
  child.stdout.pipe(log)
  child.stderr.pipe(log)
  const url = `http://127.0.0.1:${options.port}`
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}; see ${logFile}`)
    const res = await fetch(url + options.readyPath).catch(() => undefined)
    if (res?.status === 200) break
    if (Date.now() > deadline) throw new Error(`${options.name} not ready after 120 s; see ${logFile}`)
    await sleep(200)
  }
  const pid = child.pid as number
  return {
    name: options.name,
    url,
    pid,
    rssMb: () => rssMb(pid),
    cpuSeconds: () => cpuSeconds(pid),
    problems: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((line) => /"level":(40|50|60)/.test(line) || /^\w*Error|failed to start/.test(line)),
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      await once(child, 'exit')
      clearTimeout(timer)
      log.end()
    },
  }
}

export function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1])
  return Math.round((kb / 1024) * 10) / 10
}

// utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 a second on Linux)
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Milliseconds from starting `entry` to its first 200 on `readyPath`, polled every 5 ms; the process is stopped
 * afterwards. What an orchestrator waits for before it routes traffic to a new replica.
 */
export async function timeToReady(options: ServiceOptions): Promise<number> {
  const started = performance.now()
  const child = spawn(process.execPath, [...options.nodeFlags, options.entry], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env, PORT: String(options.port) },
    stdio: 'ignore',
  })
  running.add(child)
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}`)
      const res = await fetch(`http://127.0.0.1:${options.port}${options.readyPath}`).catch(() => undefined)
      if (res?.status === 200) return performance.now() - started
      if (performance.now() - started > 60_000) throw new Error(`${options.name} not ready after 60 s`)
      await sleep(5)
    }
  } finally {
    child.kill('SIGTERM')
    await once(child, 'exit')
    running.delete(child)
  }
}
