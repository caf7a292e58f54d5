// The container engine as functions: build the Dockerfile, run and inspect containers, all on the host network.
// Where the shared helper exists (../shared/container/podman-here.sh, beside the repository on these machines and in
// CI) it is used: it makes the base image locally. Elsewhere podman or docker from the PATH, as a user has them.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..', '..')
export const podmanHere = process.env.CONTAINER_HELPER ?? join(repoRoot, '..', 'shared', 'container', 'podman-here.sh')

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** `build TAG`, `run ARGS...` or `podman ARGS...` (any engine command), as the helper takes them. */
type EngineArgs = string[]

interface Engine {
  name: string
  command(args: EngineArgs): [string, string[]]
}

const works = (cli: string, args: string[]) => spawnSync(cli, args, { stdio: 'ignore', timeout: 20_000 }).status === 0

function plainEngine(cli: 'podman' | 'docker'): Engine {
  return {
    name: cli,
    command: ([verb = '', ...rest]) => {
      if (verb === 'build')
        return [cli, ['build', '--network', 'host', '-t', `localhost/${rest[0] ?? 'token-broker:test'}`, '.']]
      if (verb === 'run') return [cli, ['run', '--network', 'host', ...rest]]
      return [cli, rest]
    },
  }
}

let chosen: Engine | undefined

/** The helper where it exists, else podman, else a docker whose daemon answers; otherwise says what is needed. */
export function engine(): Engine {
  if (chosen) return chosen
  if (existsSync(podmanHere)) chosen = { name: podmanHere, command: (args) => [podmanHere, args] }
  else if (works('podman', ['--version'])) chosen = plainEngine('podman')
  else if (works('docker', ['info'])) chosen = plainEngine('docker')
  else {
    throw new Error(
      'npm run test:container needs a container engine: podman, or docker with a running daemon, on the PATH ' +
        `(or ${podmanHere}). Neither was found.`,
    )
  }
  return chosen
}

/** Runs an engine command; `onLine` sees every output line as it comes (for progress). Never rejects on exit codes. */
export function engineSh(
  args: EngineArgs,
  { env, onLine }: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
): Promise<Run> {
  const [command, commandArgs] = engine().command(args)
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd: repoRoot, env: { ...process.env, ...env } })
    const out = { stdout: '', stderr: '' }
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = ''
      child[stream].on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8')
        out[stream] += text
        if (!onLine) return
        const lines = (partial + text).split('\n')
        partial = lines.pop() ?? ''
        lines.forEach(onLine)
      })
    }
    child.once('error', reject)
    child.once('close', (code) => resolve({ code: code ?? 1, ...out }))
  })
}

/** `podman ARGS...`; throws with its output unless it exits 0. */
export async function podman(...args: string[]): Promise<string> {
  const run = await engineSh(['podman', ...args])
  if (run.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${run.code}: ${run.stderr || run.stdout}`)
  return run.stdout.trim()
}

/**
 * Builds the image. HEALTHCHECK exists only in Docker's image format: podman writes OCI images unless told
 * otherwise and would drop it, so the format is Docker's, as `docker build` makes it.
 */
export async function buildImage(tag: string, onLine: (line: string) => void): Promise<void> {
  const run = await engineSh(['build', tag], { env: { BUILDAH_FORMAT: 'docker' }, onLine })
  if (run.code !== 0) {
    const tail = (run.stdout + run.stderr).split('\n').slice(-40).join('\n')
    throw new Error(`the image build exited ${run.code}:\n${tail}`)
  }
}

/**
 * The hardened configuration the README and docker-compose.yml give: a read-only root file system (a tmpfs on /tmp),
 * every capability dropped, no privilege to gain.
 */
export const hardened = ['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges']

/** `podman run -d --name NAME <hardened> -e K=V... IMAGE`; the container's id. */
export async function runDetached(name: string, image: string, env: Record<string, string>): Promise<string> {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`])
  const run = await engineSh(['run', '-d', '--name', name, ...hardened, ...envArgs, image])
  if (run.code !== 0) throw new Error(`podman run exited ${run.code}: ${run.stderr}`)
  return run.stdout.trim()
}

export const inspect = (name: string, format: string) => podman('inspect', '--format', format, name)

/** The container's output, both streams: the service logs JSON lines to stdout. */
export async function logs(name: string): Promise<string> {
  const run = await engineSh(['podman', 'logs', name])
  return run.stdout + run.stderr
}
