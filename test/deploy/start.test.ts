// npm start as a person or a supervisor runs it: no rebuild while dist/ is current, and a SIGTERM sent to npm stops
// the server (npm passes it on to the process that is the server), rather than leaving it running without its parent.
import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
// @ts-expect-error: a plain script, without types
import { distIsStale } from '../../scripts/start.mjs'
import { createTestDatabase } from '../support/database.js'
import { accepting, freePort } from '../support/ports.js'

const repoRoot = join(import.meta.dirname, '..', '..')
const isStale = distIsStale as (root: string) => boolean

t.test('dist/ is stale when missing or older than any source, except the generated client', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'tb-start-'))
  const at = (path: string, seconds: number) => {
    mkdirSync(join(root, path, '..'), { recursive: true })
    writeFileSync(join(root, path), '')
    utimesSync(join(root, path), seconds, seconds)
  }
  at('src/server.ts', 1000)
  t.equal(isStale(root), true, 'never built')
  at('dist/server.js', 2000)
  t.equal(isStale(root), false, 'built after the last change')
  at('src/db/generated/client.ts', 3000)
  t.equal(isStale(root), false, 'the client the build generates does not count')
  at('prisma/schema.prisma', 3000)
  t.equal(isStale(root), true, 'a schema change')
  at('dist/server.js', 4000)
  at('src/http/routes/x.ts', 5000)
  t.equal(isStale(root), true, 'a change deep in src/')
})

t.test('npm start does not rebuild a current dist/, and SIGTERM to npm stops the server', async (t) => {
  if (isStale(repoRoot)) {
    // the compile step of npm run build only: its first step regenerates the Prisma client, which other test files
    // running at the same time are loading (npm test generated it before the suite)
    const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
      cwd: repoRoot,
      stdio: 'ignore',
    })
    t.equal(tsc.status, 0, 'built once')
  }
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const port = await freePort()
  const npm = spawn('npm', ['start'], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DATABASE_URL: database.url,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'tb-start-data-')),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')))
  t.teardown(() => {
    if (npm.exitCode === null) npm.kill('SIGKILL')
  })
  const deadline = Date.now() + 60_000
  while (!output.includes('token-broker ready') && Date.now() < deadline && npm.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(await accepting(port), 'listening')
  t.notMatch(output, /building it/, 'no build')

  npm.kill('SIGTERM')
  const [code] = (await once(npm, 'exit')) as [number | null]
  let closed = false
  for (let i = 0; i < 100 && !closed; i++) {
    closed = !(await accepting(port))
    if (!closed) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(closed, 'the server is gone with npm')
  for (let i = 0; i < 100 && !output.includes('"msg":"stopped"'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(output, /"msg":"shutting down[^"]*"[\s\S]*"msg":"stopped"/, 'after a graceful close')
  t.ok(code === 0 || code === null || code === 143, `npm exited (${code})`)
})
