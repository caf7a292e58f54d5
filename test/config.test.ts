import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../src/config.js'
import { ConfigError } from '../src/errors.js'

const key = (byte: number, length = 32) => Buffer.alloc(length, byte).toString('base64')
const dataDir = () => mkdtempSync(join(tmpdir(), 'tb-config-'))

t.test('defaults in development generate secrets once and warn', async (t) => {
  const dir = dataDir()
  const first = loadConfig({ DATA_DIR: dir })
  t.equal(first.config.PORT, 3000)
  t.equal(first.config.HOST, '127.0.0.1')
  t.equal(first.config.PUBLIC_URL.href, 'http://localhost:3000/')
  t.equal(first.config.REFRESH_INTERVAL_SECONDS, 15)
  t.equal(first.config.REFRESH_WINDOW_SECONDS, 300)
  t.equal(first.config.REFRESH_CONCURRENCY, 8)
  t.match(first.warnings.join('\n'), /DATABASE_URL is not set/)
  t.match(first.warnings.join('\n'), /ENCRYPTION_KEYS, COOKIE_SECRET, ADMIN_TOKEN not set/)
  const second = loadConfig({ DATA_DIR: dir })
  t.equal(second.config.ADMIN_TOKEN, first.config.ADMIN_TOKEN, 'generated secrets are kept')
  t.same(second.config.ENCRYPTION_KEYS[0]?.key, first.config.ENCRYPTION_KEYS[0]?.key)
  const stored = JSON.parse(readFileSync(join(dir, 'secrets.json'), 'utf8'))
  t.equal(stored.ADMIN_TOKEN, first.config.ADMIN_TOKEN)
})

t.test('production requires secrets and a database', async (t) => {
  const base = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgresql://db/x',
    ENCRYPTION_KEYS: `a:${key(1)}`,
    COOKIE_SECRET: 'c'.repeat(32),
    ADMIN_TOKEN: 'a'.repeat(32),
  }
  t.ok(loadConfig(base).config)
  for (const name of ['DATABASE_URL', 'ENCRYPTION_KEYS', 'COOKIE_SECRET', 'ADMIN_TOKEN'] as const) {
    const env: Record<string, string | undefined> = { ...base, [name]: undefined }
    t.throws(() => loadConfig(env), new ConfigError(name, 'is required when NODE_ENV=production'), name)
  }
})

t.test('key lists: several keys, first is primary', async (t) => {
  const { config } = loadConfig({ DATA_DIR: dataDir(), ENCRYPTION_KEYS: `new:${key(2)}, old:${key(1)}` })
  t.same(
    config.ENCRYPTION_KEYS.map((k) => k.id),
    ['new', 'old'],
  )
})

// The server itself, spawned as an operator would start it.
const serverEntry = join(import.meta.dirname, '..', 'src', 'server.ts')
function startWith(env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', serverEntry], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir(), ...env },
    encoding: 'utf8',
    timeout: 30_000,
  })
}

const invalid: [string, Record<string, string>, RegExp][] = [
  [
    'a key of the wrong length',
    { ENCRYPTION_KEYS: `k1:${key(1, 16)}` },
    /^invalid configuration: ENCRYPTION_KEYS: .*32 bytes/,
  ],
  ['a key without an id', { ENCRYPTION_KEYS: key(1) }, /^invalid configuration: ENCRYPTION_KEYS: /],
  ['an unknown LOG_LEVEL', { LOG_LEVEL: 'loud' }, /^invalid configuration: LOG_LEVEL: must be one of/],
  [
    'a PUBLIC_URL that is not a URL',
    { PUBLIC_URL: 'not a url' },
    /^invalid configuration: PUBLIC_URL: must be an absolute URL/,
  ],
  ['a PORT out of range', { PORT: '70000' }, /^invalid configuration: PORT: /],
  ['production without secrets', { NODE_ENV: 'production' }, /^invalid configuration: DATABASE_URL: is required/],
]

for (const [what, env, message] of invalid) {
  t.test(`the server refuses to start with ${what}`, async (t) => {
    const result = startWith(env)
    t.equal(result.status, 1, 'exits non-zero')
    const lines = result.stderr.trim().split('\n')
    t.equal(lines.length, 1, 'one line')
    t.match(lines[0], message)
  })
}
