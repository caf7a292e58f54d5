import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import t from 'tap'
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js'
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

t.test('production without any setting: every missing variable in one start, one line each', async (t) => {
  const result = startWith({ NODE_ENV: 'production' })
  t.equal(result.status, 1)
  t.same(result.stderr.trim().split('\n'), [
    'invalid configuration: DATABASE_URL: is required when NODE_ENV=production',
    'invalid configuration: ENCRYPTION_KEYS: is required when NODE_ENV=production',
    'invalid configuration: COOKIE_SECRET: is required when NODE_ENV=production',
    'invalid configuration: ADMIN_TOKEN: is required when NODE_ENV=production',
  ])
})

t.test('invalid and missing variables are reported together', async (t) => {
  const env = {
    NODE_ENV: 'production',
    PORT: 'x',
    LOG_LEVEL: 'loud',
    ADMIN_TOKEN: 'short',
    COOKIE_SECRET: 'c'.repeat(32),
  }
  const err = t.throws(() => loadConfig(env)) as ConfigError
  t.same(
    err.problems.map((problem) => problem.variable),
    ['PORT', 'DATABASE_URL', 'ENCRYPTION_KEYS', 'ADMIN_TOKEN', 'LOG_LEVEL'],
  )
  t.notMatch(err.message, /short/, 'a secret value is never echoed')
})

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://db/x',
  ENCRYPTION_KEYS: `a:${key(1)}`,
  COOKIE_SECRET: 'c'.repeat(32),
  ADMIN_TOKEN: 'a'.repeat(32),
}

t.test('an http PUBLIC_URL is refused in production unless loopback or explicitly allowed', async (t) => {
  const refused = t.throws(() => loadConfig({ ...production, PUBLIC_URL: 'http://broker.example.com' })) as ConfigError
  t.equal(refused.variable, 'PUBLIC_URL')
  t.match(refused.message, /must be https:\/\/ when NODE_ENV=production.*ALLOW_HTTP_PUBLIC_URL=true/)
  t.ok(loadConfig({ ...production, PUBLIC_URL: 'https://broker.example.com' }).config)
  t.ok(loadConfig({ ...production, PUBLIC_URL: 'http://127.0.0.1:3000' }).config, 'loopback: a local run')
  const allowed = loadConfig({ ...production, PUBLIC_URL: 'http://broker.internal', ALLOW_HTTP_PUBLIC_URL: 'true' })
  t.equal(allowed.config.PUBLIC_URL.href, 'http://broker.internal/')
  t.ok(loadConfig({ PUBLIC_URL: 'http://broker.example.com', DATA_DIR: dataDir() }).config, 'development takes it')
  t.throws(() => loadConfig({ ...production, ALLOW_HTTP_PUBLIC_URL: 'yes' }), /ALLOW_HTTP_PUBLIC_URL: must be true/)
})

t.test('LOG_FORMAT: pretty on a terminal outside production, json otherwise, or as set', async (t) => {
  const dir = dataDir()
  t.equal(loadConfig({ DATA_DIR: dir }, { stdoutIsTTY: true }).config.LOG_FORMAT, 'pretty')
  t.equal(loadConfig({ DATA_DIR: dir }, { stdoutIsTTY: false }).config.LOG_FORMAT, 'json')
  t.equal(loadConfig(production, { stdoutIsTTY: true }).config.LOG_FORMAT, 'json')
  t.equal(loadConfig({ ...production, LOG_FORMAT: 'pretty' }).config.LOG_FORMAT, 'pretty')
  t.throws(() => loadConfig({ ...production, LOG_FORMAT: 'xml' }), /LOG_FORMAT: must be one of json, pretty/)
})

t.test('--help lists every variable with its default and meaning, and starts nothing', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', serverEntry, '--help'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'production' },
    encoding: 'utf8',
    timeout: 30_000,
  })
  t.equal(result.status, 0)
  for (const name of CONFIG_VARIABLES)
    t.match(result.stdout, new RegExp(`^  ${name}\\n {6}\\S.*\\n {6}default: \\S`, 'm'), name)
  t.match(result.stdout, /REFRESH_INTERVAL_SECONDS\n {6}scheduler tick\n {6}default: 15/)
})

t.test('a .env file in the working directory is read at start; the environment wins over it', async (t) => {
  const cwd = dataDir()
  writeFileSync(join(cwd, '.env'), 'LOG_LEVEL=loud\nREFRESH_CONCURRENCY=0\n')
  const run = (env: Record<string, string>) =>
    spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), serverEntry], {
      cwd,
      env: { PATH: process.env.PATH, DATA_DIR: cwd, ...env },
      encoding: 'utf8',
      timeout: 30_000,
    })
  const fromFile = run({})
  t.equal(fromFile.status, 1)
  t.match(fromFile.stderr, /LOG_LEVEL: must be one of/)
  t.match(fromFile.stderr, /REFRESH_CONCURRENCY: must be between 1 and 256/)
  const overridden = run({ LOG_LEVEL: 'warn' })
  t.notMatch(overridden.stderr, /LOG_LEVEL/, 'the environment wins')
  t.match(overridden.stderr, /REFRESH_CONCURRENCY/)
})

t.test(
  '.env.example names every variable, and with `npm run keys` it is a valid production configuration',
  async (t) => {
    const root = join(import.meta.dirname, '..')
    const example = readFileSync(join(root, '.env.example'), 'utf8')
    for (const name of CONFIG_VARIABLES) t.match(example, new RegExp(`^#?${name}=`, 'm'), name)
    const keys = execFileSync('npm', ['run', '--silent', 'keys'], { cwd: root, encoding: 'utf8' })
    t.same(
      keys
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0]),
      ['ENCRYPTION_KEYS', 'COOKIE_SECRET', 'ADMIN_TOKEN'],
    )
    const env = { ...parseEnv(example), ...parseEnv(keys) }
    const { config } = loadConfig(env)
    t.equal(config.NODE_ENV, 'production')
    t.equal(config.ENCRYPTION_KEYS[0]?.key.length, 32)
    t.not(
      parseEnv(execFileSync('npm', ['run', '--silent', 'keys'], { cwd: root, encoding: 'utf8' })).ADMIN_TOKEN,
      env.ADMIN_TOKEN,
      'fresh each time',
    )
  },
)
