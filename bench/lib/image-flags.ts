// How the image runs the broker: the Node flags of the Dockerfile's CMD (between `node` and the entry) and the
// variables of its ENV. The bench runs a second broker the same way, so that the report shows the broker as shipped
// beside Node's defaults.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './services.js'

export interface ImageRuntime {
  /** The Node flags of the CMD. */
  flags: string[]
  /** The ENV instructions' variables, in order. */
  env: Record<string, string>
}

/** The Dockerfile's instructions of its last stage, continuation lines joined, comments left out. */
function instructions(dockerfile: string): string[] {
  const lines = readFileSync(dockerfile, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
  const stage = lines.findLastIndex((line) => line.startsWith('FROM '))
  return lines.slice(stage)
}

export function imageRuntime(dockerfile = join(root, 'Dockerfile')): ImageRuntime {
  const lines = instructions(dockerfile)
  // the image's own CMD starts a line (the health check's follows HEALTHCHECK on its line); the last one counts
  const cmd = lines.filter((line) => line.startsWith('CMD ')).at(-1)
  const args: unknown = cmd ? JSON.parse(cmd.slice('CMD '.length)) : undefined
  const entry = Array.isArray(args) ? args.indexOf('dist/server.js') : -1
  if (!Array.isArray(args) || args[0] !== 'node' || entry < 0) {
    throw new Error(`${dockerfile}: expected CMD ["node", ...flags, "dist/server.js"], found ${cmd ?? 'no CMD'}`)
  }
  const env: Record<string, string> = {}
  for (const line of lines.filter((line) => line.startsWith('ENV '))) {
    for (const pair of line.slice('ENV '.length).trim().split(/\s+/)) {
      const [name, value] = pair.split('=', 2) as [string, string | undefined]
      if (value === undefined || /["'$]/.test(pair))
        throw new Error(`${dockerfile}: expected ENV NAME=value, found ${pair}`)
      env[name] = value
    }
  }
  return { flags: args.slice(1, entry) as string[], env }
}

// what the image sets for the container it runs in (its environment, address, port and volume): each deploy sets its own
const DEPLOY_VARIABLES = new Set(['NODE_ENV', 'HOST', 'PORT', 'DATA_DIR'])

/** The ENV variables that tune the runtime rather than place the service: what every deploy should run with. */
export function imageTuning(runtime: ImageRuntime): Record<string, string> {
  return Object.fromEntries(Object.entries(runtime.env).filter(([name]) => !DEPLOY_VARIABLES.has(name)))
}

/** The image's command as a shell would run it, with its tuning: `A=1 node --flag`. */
export function imageCommand(runtime: ImageRuntime): string {
  const tuning = Object.entries(imageTuning(runtime)).map(([name, value]) => `${name}=${value}`)
  return [...tuning, 'node', ...runtime.flags].join(' ')
}
