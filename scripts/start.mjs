// npm start: builds dist/ only when it is missing or older than what it is built from, then runs the server in this
// very process. npm does not pass a SIGTERM on: it exits and leaves its script running. So the server watches its
// parent, and closes as on SIGTERM when npm is gone. In production run `node dist/server.js`: no npm, no build.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setInterval } from 'node:timers'
import { pathToFileURL } from 'node:url'

const INPUTS = ['src', 'prisma/schema.prisma', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json']
// written by the build itself, before the compiler runs
const GENERATED = join('src', 'db', 'generated')

function newestChange(root, path) {
  const stats = statSync(join(root, path))
  if (!stats.isDirectory()) return stats.mtimeMs
  let newest = 0
  for (const entry of readdirSync(join(root, path))) {
    const child = join(path, entry)
    if (child !== GENERATED) newest = Math.max(newest, newestChange(root, child))
  }
  return newest
}

/** Whether dist/server.js is missing or older than any of its inputs. */
export function distIsStale(root) {
  const built = join(root, 'dist', 'server.js')
  if (!existsSync(built)) return true
  const builtAt = statSync(built).mtimeMs
  return INPUTS.some((input) => existsSync(join(root, input)) && newestChange(root, input) > builtAt)
}

if (process.argv[1] === import.meta.filename) {
  const root = join(import.meta.dirname, '..')
  if (distIsStale(root)) {
    console.error('npm start: dist/ is missing or older than src/: building it (npm run build)')
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
    if (build.status !== 0) process.exit(build.status ?? 1)
  }
  const parent = process.ppid
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM')
  }, 250).unref()
  await import(pathToFileURL(join(root, 'dist', 'server.js')).href)
}
