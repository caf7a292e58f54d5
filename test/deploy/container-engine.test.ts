// npm run test:container in a clone without ../shared: podman or docker from the PATH, or a message saying what it
// needs. A stand-in engine on the PATH shows which commands it is given.
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'

const repoRoot = join(import.meta.dirname, '..', '..')
const script = `
  const { engine, engineSh } = await import('./test/container/podman.ts')
  const run = await engineSh(['build', 'token-broker:test'])
  const other = await engineSh(['podman', 'rm', '-f', 'x'])
  console.log(JSON.stringify({ name: engine().name, build: run.stdout.trim(), other: other.stdout.trim() }))
`

/** Runs the engine choice with a PATH holding node and the given stand-ins, and no shared helper. */
function choose(standIns: string[]) {
  const bin = mkdtempSync(join(tmpdir(), 'tb-engine-'))
  symlinkSync(process.execPath, join(bin, 'node'))
  for (const name of standIns) {
    writeFileSync(join(bin, name), '#!/bin/sh\n[ "$1" = "info" ] && exit 1\necho "$@"\n')
    chmodSync(join(bin, name), 0o755)
  }
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { PATH: bin, CONTAINER_HELPER: join(bin, 'no-such-helper.sh') },
    encoding: 'utf8',
    timeout: 30_000,
  })
}

t.test('without the shared helper, podman from the PATH is used', async (t) => {
  const result = choose(['podman', 'docker'])
  t.equal(result.status, 0, result.stderr)
  t.same(JSON.parse(result.stdout), {
    name: 'podman',
    build: 'build --network host -t localhost/token-broker:test .',
    other: 'rm -f x',
  })
})

t.test(
  'a docker whose daemon does not answer is not taken; with nothing, the message says what is needed',
  async (t) => {
    const result = choose(['docker'])
    t.not(result.status, 0)
    t.match(result.stderr, /npm run test:container needs a container engine: podman, or docker with a running daemon/)
  },
)
