// A start that would serve wrong answers is refused with one line: keys that do not open the stored data, a second
// process on one embedded database, a development secrets file others can read.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { forgetRetiredKeys, KeyCheckError, verifyKeyring } from '../../src/crypto/key-checks.js'
import { generateKey, Keyring } from '../../src/crypto/keyring.js'
import { openDatabase } from '../../src/db/client.js'
import { DataDirLockedError, lockDataDir } from '../../src/db/embedded.js'
import { ConfigError } from '../../src/errors.js'
import { createTestDatabase } from '../support/database.js'
import { freePort } from '../support/ports.js'

const repoRoot = join(import.meta.dirname, '..', '..')
const k1 = { id: 'k1', key: generateKey() }
const k1Other = { id: 'k1', key: generateKey() }
const k2 = { id: 'k2', key: generateKey() }
const keyList = (...keys: { id: string; key: Buffer }[]) =>
  keys.map(({ id, key }) => `${id}:${key.toString('base64')}`).join(',')

/** Another process holding DATA_DIR's lock, as a running broker does; prints a line once it holds it. */
function holdLock(dataDir: string) {
  const script =
    `import('./src/db/embedded.ts').then(({ lockDataDir }) => {` +
    ` lockDataDir(${JSON.stringify(dataDir)}); console.log('locked'); setInterval(() => {}, 1000) })`
  return spawn(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
}

/** The line a refused start prints (stderr's line and stdout's warnings interleave in any order). */
const refusal = (output: string) => output.split('\n').find((line) => line.startsWith('failed to start: '))

/** Runs the server entry as an operator does; resolves with its exit code and output once it exits or is ready. */
async function start(env: Record<string, string>, { until = /token-broker ready/ } = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_FORMAT: 'json', PORT: String(await freePort()), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const ready = new Promise<void>((resolve) => {
    const seen = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      if (until.test(output)) resolve()
    }
    child.stdout.on('data', seen)
    child.stderr.on('data', seen)
  })
  // 'close': the process has exited and both streams are read to the end
  const exited = once(child, 'close').then(([code]) => code as number | null)
  const first = await Promise.race([
    ready.then(() => 'ready' as const),
    exited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => setTimeout(resolve, 90_000, 'timeout').unref()),
  ])
  return {
    child,
    first,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM')
      return exited
    },
    exited,
  }
}

t.test(
  'the keyring is checked against the database: another key under a known id, or a missing id, refused',
  async (t) => {
    const database = await createTestDatabase()
    const db = openDatabase({ url: database.url, poolSize: 2 })
    t.teardown(async () => {
      await db.close()
      await database.drop()
    })
    await verifyKeyring(db, new Keyring([k1]))
    await verifyKeyring(db, new Keyring([k1]))
    t.pass('the same keys start again')

    await t.rejects(
      verifyKeyring(db, new Keyring([k1Other])),
      new KeyCheckError(
        `ENCRYPTION_KEYS: key "k1" is not the key this database's data was encrypted with ` +
          '(its stored check value does not verify)',
      ),
      'another key under the same id: named',
    )
    await t.rejects(verifyKeyring(db, new Keyring([k2])), /^ENCRYPTION_KEYS has no key "k1", which stored data/)

    await verifyKeyring(db, new Keyring([k2, k1]))
    t.pass('a rotation: the new primary first, the old key kept')
    await t.rejects(verifyKeyring(db, new Keyring([k2])), /no key "k1"/, 'the old key is still needed')
    t.same(await forgetRetiredKeys(db, new Keyring([k2, k1])), ['k1'], 'once everything is re-encrypted')
    await verifyKeyring(db, new Keyring([k2]))
    t.pass('the old key can go')
    await t.rejects(verifyKeyring(db, new Keyring([{ id: 'k2', key: k1.key }])), /key "k2" is not the key/)
  },
)

t.test('a start with keys that do not match the stored data exits with one line naming the key id', async (t) => {
  const database = await createTestDatabase()
  t.teardown(() => database.drop())
  const env = {
    DATABASE_URL: database.url,
    ADMIN_TOKEN: 'startup-check-admin-token-0123456789',
    COOKIE_SECRET: 'startup-check-cookie-secret-0123456789',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'tb-keys-')),
  }
  const first = await start({ ...env, ENCRYPTION_KEYS: keyList(k1) })
  if (first.first !== 'ready') t.comment(first.output())
  t.equal(first.first, 'ready', 'started')
  t.equal(await first.stop(), 0)

  const wrong = await start({ ...env, ENCRYPTION_KEYS: keyList(k1Other) })
  t.teardown(() => wrong.stop())
  t.equal(wrong.first, 'exited')
  t.equal(await wrong.exited, 1)
  t.equal(
    refusal(wrong.output()),
    `failed to start: ENCRYPTION_KEYS: key "k1" is not the key this database's data was encrypted with ` +
      '(its stored check value does not verify)',
  )
  t.notOk(wrong.output().includes(k1Other.key.toString('base64')), 'the key itself is never printed')
})

t.test('one process at a time on an embedded database', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tb-lock-'))
  const holder = holdLock(dataDir)
  t.teardown(() => {
    if (holder.exitCode === null) holder.kill('SIGKILL')
  })
  await once(holder.stdout!, 'data')
  t.throws(() => lockDataDir(dataDir), DataDirLockedError, 'refused while the other process holds it')
  t.throws(() => lockDataDir(dataDir), {
    message: new RegExp(`in use by another token-broker \\(process ${holder.pid}\\)`),
  })

  holder.kill('SIGKILL')
  await once(holder, 'exit')
  const release = lockDataDir(dataDir)
  t.pass('a lock left by a process that has gone is taken over')
  t.equal(JSON.parse(readFileSync(join(dataDir, 'embedded.lock'), 'utf8')).pid, process.pid)
  release()
  const again = lockDataDir(dataDir)
  t.pass('released, it can be taken again')
  again()
})

t.test('a start on a DATA_DIR another process holds is refused with one line', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tb-lock-start-'))
  const holder = holdLock(dataDir)
  t.teardown(() => {
    if (holder.exitCode === null) holder.kill('SIGKILL')
  })
  await once(holder.stdout!, 'data')
  const second = await start({ DATA_DIR: dataDir })
  t.teardown(() => second.stop())
  t.equal(second.first, 'exited')
  t.equal(await second.exited, 1)
  t.match(
    refusal(second.output()),
    new RegExp(`^failed to start: DATA_DIR ${dataDir} is in use by another token-broker \\(process ${holder.pid}\\)`),
  )
  t.equal(holder.exitCode, null, 'the holder is untouched')
})

t.test('secrets.json: created 0600 once, repaired when others can read it, refused when incomplete', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tb-secrets-'))
  const file = join(dataDir, 'secrets.json')
  const first = loadConfig({ DATA_DIR: dataDir })
  t.equal(statSync(file).mode & 0o777, 0o600, 'created with mode 0600')
  t.equal(loadConfig({ DATA_DIR: dataDir }).config.ADMIN_TOKEN, first.config.ADMIN_TOKEN, 'then reused')

  chmodSync(file, 0o644)
  const repaired = loadConfig({ DATA_DIR: dataDir })
  t.equal(statSync(file).mode & 0o777, 0o600, 'set back to 0600')
  t.ok(repaired.warnings.includes(`${file} was readable by other users (mode 644): its mode is now 600`), 'and said so')
  t.equal(repaired.config.ADMIN_TOKEN, first.config.ADMIN_TOKEN)

  writeFileSync(file, JSON.stringify({ ADMIN_TOKEN: 'x' }), { mode: 0o600 })
  t.throws(
    () => loadConfig({ DATA_DIR: dataDir }),
    new ConfigError('DATA_DIR', `${file} lacks ENCRYPTION_KEYS, COOKIE_SECRET`),
  )
})

t.test('secrets.json: processes starting at once on a new DATA_DIR all use the same secrets', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tb-secrets-race-'))
  const script = `import('./src/config.ts').then(({ loadConfig }) => console.log(loadConfig({ DATA_DIR: ${JSON.stringify(dataDir)} }).config.ADMIN_TOKEN))`
  const runs = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
      const [code] = await once(child, 'exit')
      return { code, token: out.trim() }
    }),
  )
  t.same(
    runs.map((run) => run.code),
    runs.map(() => 0),
  )
  t.equal(new Set(runs.map((run) => run.token)).size, 1, 'one set of secrets')
  t.equal(JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).ADMIN_TOKEN, runs[0]?.token)
})
