// The shared podman wrapper (../shared/container/podman-here.sh, beside the repository here and in CI) as
// functions: build the Dockerfile, run and inspect containers. Containers share the host network.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export const repoRoot = join(import.meta.dirname, '..', '..')
export const podmanHere = join(repoRoot, '..', 'shared', 'container', 'podman-here.sh')

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs podman-here.sh; `onLine` sees every output line as it comes (for progress). Never rejects on exit codes. */
export function podmanHereSh(
  args: string[],
  { env, onLine }: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
): Promise<Run> {
  if (!existsSync(podmanHere)) throw new Error(`${podmanHere} not found (the shared directory beside the repository)`)
  return new Promise((resolve, reject) => {
    const child = spawn(podmanHere, args, { cwd: repoRoot, env: { ...process.env, ...env } })
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
  const run = await podmanHereSh(['podman', ...args])
  if (run.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${run.code}: ${run.stderr || run.stdout}`)
  return run.stdout.trim()
}

/**
 * Builds the image. HEALTHCHECK exists only in Docker's image format: podman writes OCI images unless told
 * otherwise and would drop it, so the format is Docker's, as `docker build` makes it.
 */
export async function buildImage(tag: string, onLine: (line: string) => void): Promise<void> {
  const run = await podmanHereSh(['build', tag], { env: { BUILDAH_FORMAT: 'docker' }, onLine })
  if (run.code !== 0) {
    const tail = (run.stdout + run.stderr).split('\n').slice(-40).join('\n')
    throw new Error(`the image build exited ${run.code}:\n${tail}`)
  }
}

/** `podman run --network host -d --name NAME -e K=V... IMAGE`; the container's id. */
export async function runDetached(name: string, image: string, env: Record<string, string>): Promise<string> {
  const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`])
  const run = await podmanHereSh(['run', '-d', '--name', name, ...envArgs, image])
  if (run.code !== 0) throw new Error(`podman run exited ${run.code}: ${run.stderr}`)
  return run.stdout.trim()
}

export const inspect = (name: string, format: string) => podman('inspect', '--format', format, name)

/** The container's output, both streams: the service logs JSON lines to stdout. */
export async function logs(name: string): Promise<string> {
  const run = await podmanHereSh(['podman', 'logs', name])
  return run.stdout + run.stderr
}
