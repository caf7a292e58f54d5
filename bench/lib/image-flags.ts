// The Node flags the image runs the broker with: those of the Dockerfile's CMD, between `node` and the entry. The
// bench runs a second broker with them, so that the report shows the broker as shipped beside Node's defaults.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './services.js'

export function imageNodeFlags(dockerfile = join(root, 'Dockerfile')): string[] {
  // the image's own CMD starts a line (the health check's is indented under HEALTHCHECK); the last one counts
  const cmd = readFileSync(dockerfile, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('CMD '))
    .at(-1)
  const args: unknown = cmd ? JSON.parse(cmd.slice('CMD '.length)) : undefined
  const entry = Array.isArray(args) ? args.indexOf('dist/server.js') : -1
  if (!Array.isArray(args) || args[0] !== 'node' || entry < 0) {
    throw new Error(`${dockerfile}: expected CMD ["node", ...flags, "dist/server.js"], found ${cmd ?? 'no CMD'}`)
  }
  return args.slice(1, entry) as string[]
}
