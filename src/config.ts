import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { generateKey, parseKeyList, type KeyringKey } from './crypto/keyring.js'
import { ConfigError } from './errors.js'
import { parseAllowedHosts, type AllowedHosts } from './urls/addresses.js'
import { isHttpsOrLoopback } from './urls/rules.js'

type Env = Record<string, string | undefined>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const int =
  (min: number, max: number) =>
  (name: string, raw: string): number => {
    if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`)
    const value = Number(raw)
    if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`)
    return value
  }

const urlOf =
  (protocols: readonly string[]) =>
  (name: string, raw: string): URL => {
    let parsed: URL
    try {
      parsed = new URL(raw)
    } catch {
      // the value itself may hold a password: name the variable, not the value
      throw new ConfigError(name, 'must be an absolute URL')
    }
    if (!protocols.includes(parsed.protocol)) throw new ConfigError(name, `must start with ${protocols.join(' or ')}//`)
    return parsed
  }

const keys = (name: string, raw: string): KeyringKey[] => {
  try {
    const list = parseKeyList(raw)
    if (list.length === 0) throw new TypeError('no key given')
    return list
  } catch (err) {
    throw new ConfigError(name, (err as Error).message)
  }
}

const secret =
  (minLength: number) =>
  (name: string, raw: string): string => {
    if (raw.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters`)
    return raw
  }

const oneOf =
  <T extends string>(values: readonly T[]) =>
  (name: string, raw: string): T => {
    if (!values.includes(raw as T)) throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`)
    return raw as T
  }

const proxyEntry = (entry: string): boolean => {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true
  const [address = '', prefix, ...rest] = entry.split('/')
  return isIP(address) !== 0 && rest.length === 0 && (prefix === undefined || /^\d{1,3}$/.test(prefix))
}

// Which peers may set X-Forwarded-For: `true` (any: only when nothing else can reach the port), or addresses and
// CIDRs. The client address it yields is what rate limits count by.
const trustProxy = (name: string, raw: string): boolean | string[] => {
  if (raw === 'true' || raw === 'false') return raw === 'true'
  const entries = raw.split(',').map((entry) => entry.trim())
  if (!entries.every(proxyEntry)) {
    throw new ConfigError(name, 'must be true, false, or a comma-separated list of addresses and CIDRs')
  }
  return entries
}

const bool = (name: string, raw: string): boolean => {
  if (raw === 'true' || raw === 'false') return raw === 'true'
  throw new ConfigError(name, `must be true or false, got "${raw}"`)
}

const allowedHosts = (name: string, raw: string): AllowedHosts => {
  try {
    return parseAllowedHosts(raw)
  } catch (err) {
    throw new ConfigError(
      name,
      `must be a comma-separated list of host names, addresses and CIDRs: ${(err as Error).message}`,
    )
  }
}

const text = (_: string, raw: string) => raw
const path = (_: string, raw: string) => resolve(raw)

interface Variable {
  parse: (name: string, raw: string) => unknown
  /** The value used when the variable is unset, as it would be written. */
  default: string | undefined
  /** What --help shows as the default when there is none to write, or it depends on something. */
  shown?: string
  doc: string
  requiredInProduction?: true
  /** Generated into DATA_DIR outside production when unset. */
  generated?: true
}

const GENERATED = 'development: generated into $DATA_DIR/secrets.json; production: required'

/** The environment, one entry per variable: how it parses, what it defaults to and what it means. */
const schema = {
  NODE_ENV: {
    parse: oneOf(['development', 'production', 'test']),
    default: 'development',
    doc: 'production requires the database and secrets below and refuses an http PUBLIC_URL',
  },
  PORT: { parse: int(0, 65535), default: '3000', doc: 'port to listen on' },
  HOST: { parse: text, default: '127.0.0.1', shown: '127.0.0.1 (the container: 0.0.0.0)', doc: 'address to listen on' },
  PUBLIC_URL: {
    parse: urlOf(['http:', 'https:']),
    default: undefined,
    shown: 'http://localhost:$PORT',
    doc: 'base of redirect URIs and start links, as browsers reach the broker',
  },
  ALLOW_HTTP_PUBLIC_URL: {
    parse: bool,
    default: 'false',
    doc: 'true lets production run on an http PUBLIC_URL (not loopback): the flow cookie then loses Secure',
  },
  TRUST_PROXY: {
    parse: trustProxy,
    default: undefined,
    shown: 'none',
    doc: 'proxies whose X-Forwarded-For is believed: true, or addresses/CIDRs',
  },
  DATABASE_URL: {
    parse: urlOf(['postgres:', 'postgresql:']),
    default: undefined,
    shown: 'an embedded database in $DATA_DIR (development only)',
    doc: 'Postgres connection URL; add ?pgbouncer=true behind PgBouncer in transaction mode',
    requiredInProduction: true,
  },
  DATA_DIR: { parse: path, default: './data', doc: 'embedded database and generated development secrets' },
  ENCRYPTION_KEYS: {
    parse: keys,
    default: undefined,
    shown: GENERATED,
    doc: 'kid:base64key,... (32-byte keys; the first encrypts). npm run keys prints fresh ones',
    requiredInProduction: true,
    generated: true,
  },
  COOKIE_SECRET: {
    parse: secret(32),
    default: undefined,
    shown: GENERATED,
    doc: 'signs the flow cookie (at least 32 characters)',
    requiredInProduction: true,
    generated: true,
  },
  ADMIN_TOKEN: {
    parse: secret(24),
    default: undefined,
    shown: GENERATED,
    doc: 'bearer token of the admin API (at least 24 characters)',
    requiredInProduction: true,
    generated: true,
  },
  REQUEST_TIMEOUT_SECONDS: {
    parse: int(1, 3600),
    default: '30',
    doc: 'a request (headers and body) must arrive within this; a slower client is disconnected',
  },
  PROVIDERS_FILE: {
    parse: path,
    default: undefined,
    shown: 'none',
    doc: 'JSON or YAML list of providers upserted at start (secrets by clientSecretEnv)',
  },
  TEMPLATES_FILE: {
    parse: path,
    default: undefined,
    shown: 'none',
    doc: "extra provider templates (ours or Nango's providers.yaml format), added to or overriding the catalogue",
  },
  REFRESH_INTERVAL_SECONDS: { parse: int(1, 3600), default: '15', doc: 'scheduler tick' },
  REFRESH_WINDOW_SECONDS: {
    parse: int(0, 86400),
    default: '300',
    doc: 'refresh tokens that expire within this window',
  },
  REFRESH_CONCURRENCY: { parse: int(1, 256), default: '8', doc: 'refreshes in flight per instance' },
  EXPIRY_WARNING_SECONDS: {
    parse: int(0, 31536000),
    default: '604800',
    doc: 'connection.expiring is sent this long before a refresh token expires (0: never)',
  },
  MAX_OPEN_FLOWS_PER_CALLER: {
    parse: int(1, 1_000_000),
    default: '1000',
    doc: 'start links a caller may have neither used nor expired; beyond it POST /authorizations answers 429',
  },
  DELIVERY_RETENTION_DAYS: {
    parse: int(1, 3650),
    default: '14',
    doc: 'delivered and failed webhook deliveries are deleted this many days after they were created',
  },
  DB_OUTAGE_GRACE_SECONDS: {
    parse: int(0, 3600),
    default: '300',
    doc: 'while the database is unreachable, tokens and API keys read in the minute before are served this long (0: off)',
  },
  WEBHOOK_ALLOWED_HOSTS: {
    parse: allowedHosts,
    default: '',
    shown: 'none',
    doc: 'host names, addresses or CIDRs webhooks may reach although internal (https is still required in production)',
  },
  LOG_LEVEL: { parse: oneOf(LOG_LEVELS), default: 'info', doc: 'pino level (health probes log at debug)' },
  LOG_FORMAT: {
    parse: oneOf(['json', 'pretty']),
    default: undefined,
    shown: 'json; pretty when stdout is a terminal outside production',
    doc: 'log lines for machines or for people',
  },
  DOCS_PERSIST_AUTHORIZATION: {
    parse: bool,
    default: 'false',
    doc: "true lets Swagger UI at /docs keep the pasted token in the browser's local storage across reloads",
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    parse: urlOf(['http:', 'https:']),
    default: undefined,
    shown: 'unset: no tracing',
    doc: 'OpenTelemetry traces over OTLP/HTTP to this endpoint (standard OTEL_* variables apply)',
  },
} as const satisfies Record<string, Variable>

type Schema = typeof schema

/** The names of every variable the broker reads. */
export const CONFIG_VARIABLES = Object.keys(schema) as (keyof Schema)[]
type Parsed<K extends keyof Schema> = ReturnType<Schema[K]['parse']>
type Generated = { [K in keyof Schema]: Schema[K] extends { generated: true } ? K : never }[keyof Schema]

/** The validated configuration. Secrets are always present once loaded (given, or generated in development). */
export type Config = {
  [K in Exclude<keyof Schema, Generated>]: Schema[K]['default'] extends string ? Parsed<K> : Parsed<K> | undefined
} & {
  [K in Generated]: Parsed<K>
} & { PUBLIC_URL: URL; LOG_FORMAT: 'json' | 'pretty' }

export interface LoadedConfig {
  config: Config
  warnings: string[]
}

/** Every variable with its default and meaning, as `--help` prints it. */
export function configHelp(): string {
  const rows = Object.entries(schema as Record<string, Variable>).map(
    ([name, spec]) => `  ${name}\n      ${spec.doc}\n      default: ${spec.shown ?? spec.default}`,
  )
  return [
    'token-broker: an OAuth 2.0 token broker',
    '',
    'usage: node dist/server.js            (npm start builds dist/ first when it is missing or stale)',
    '',
    'Every setting is an environment variable; a .env file in the working directory is read at start',
    '(variables already set win). Invalid or missing ones are all reported at once.',
    '',
    ...rows,
    '',
  ].join('\n')
}

/**
 * Validates the environment, reporting every invalid or missing variable at once; in development, generates missing
 * secrets into DATA_DIR (and says so).
 */
export function loadConfig(env: Env = process.env, { stdoutIsTTY = false } = {}): LoadedConfig {
  const out: Record<string, unknown> = {}
  const problems: ConfigError[] = []
  const warnings: string[] = []
  const production = (env.NODE_ENV ?? 'development') === 'production'
  for (const [name, spec] of Object.entries(schema as Record<string, Variable>)) {
    const raw = env[name] === '' ? undefined : env[name]
    if (raw === undefined && production && spec.requiredInProduction) {
      problems.push(new ConfigError(name, 'is required when NODE_ENV=production'))
      continue
    }
    const value = raw ?? spec.default
    try {
      out[name] = value === undefined ? undefined : spec.parse(name, value)
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(err)
    }
  }
  const publicUrl = out.PUBLIC_URL as URL | undefined
  if (production && publicUrl && !isHttpsOrLoopback(publicUrl) && out.ALLOW_HTTP_PUBLIC_URL !== true) {
    problems.push(
      new ConfigError(
        'PUBLIC_URL',
        'must be https:// when NODE_ENV=production (the flow cookie would lose Secure); ' +
          'set ALLOW_HTTP_PUBLIC_URL=true if a proxy in front of it is not reached by browsers over http',
      ),
    )
  }
  if (problems.length > 0) throw ConfigError.all(problems)
  const config = out as Config
  config.PUBLIC_URL ??= new URL(`http://localhost:${config.PORT}`)
  config.LOG_FORMAT ??= stdoutIsTTY && !production ? 'pretty' : 'json'
  if (!config.DATABASE_URL) warnings.push(`DATABASE_URL is not set: using the embedded database in ${config.DATA_DIR}`)
  const missing = (['ENCRYPTION_KEYS', 'COOKIE_SECRET', 'ADMIN_TOKEN'] as const).filter((name) => !out[name])
  if (missing.length > 0) {
    const generated = developmentSecrets(config.DATA_DIR)
    if (generated.repaired) warnings.push(generated.repaired)
    for (const name of missing) (config as Record<string, unknown>)[name] = generated[name]
    warnings.push(
      `${missing.join(', ')} not set: using development values from ${join(config.DATA_DIR, 'secrets.json')}`,
    )
  }
  return { config, warnings }
}

/** Reads `.env` in the working directory into the environment (variables already set win), where Node can. */
export function loadEnvFile(file = '.env'): string | undefined {
  if (!existsSync(file)) return undefined
  // process.loadEnvFile came with Node 20.12 and 21.7
  if (typeof process.loadEnvFile !== 'function') return `${file} ignored: this Node.js cannot read it (needs 20.12+)`
  process.loadEnvFile(file)
  return undefined
}

/** Fresh secrets; the key's id names the day it was made, so a later rotation's key sorts after it. */
export function freshSecrets(
  kid = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`,
): Record<'ENCRYPTION_KEYS' | 'COOKIE_SECRET' | 'ADMIN_TOKEN', string> {
  return {
    ENCRYPTION_KEYS: `${kid}:${generateKey().toString('base64')}`,
    COOKIE_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_TOKEN: randomBytes(32).toString('base64url'),
  }
}

interface DevelopmentSecrets {
  ENCRYPTION_KEYS: KeyringKey[]
  COOKIE_SECRET: string
  ADMIN_TOKEN: string
  /** Set when the file was readable by others and its mode was set back to 0600. */
  repaired?: string
}

type StoredSecrets = Record<'ENCRYPTION_KEYS' | 'COOKIE_SECRET' | 'ADMIN_TOKEN', string>

/**
 * `$DATA_DIR/secrets.json`: created exclusively with mode 0600 (of two processes starting at once, one writes it and
 * both use it), its mode set back to 0600 if others can read it, and refused with the reason if it is not complete.
 */
function developmentSecrets(dataDir: string): DevelopmentSecrets {
  const file = join(dataDir, 'secrets.json')
  mkdirSync(dataDir, { recursive: true })
  try {
    writeFileSync(file, JSON.stringify(freshSecrets('dev1'), null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  let repaired: string | undefined
  const mode = statSync(file).mode & 0o777
  if (mode & 0o077) {
    chmodSync(file, 0o600)
    repaired = `${file} was readable by other users (mode ${mode.toString(8)}): its mode is now 600`
  }
  const stored = readStoredSecrets(file)
  return {
    ENCRYPTION_KEYS: keys('ENCRYPTION_KEYS', stored.ENCRYPTION_KEYS),
    COOKIE_SECRET: stored.COOKIE_SECRET,
    ADMIN_TOKEN: stored.ADMIN_TOKEN,
    ...(repaired ? { repaired } : {}),
  }
}

function readStoredSecrets(file: string): StoredSecrets {
  // the writer of a file created a moment ago may not have finished it: read again briefly before refusing
  for (let attempt = 0; ; attempt++) {
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredSecrets>
      const absent = (['ENCRYPTION_KEYS', 'COOKIE_SECRET', 'ADMIN_TOKEN'] as const).filter(
        (name) => typeof stored[name] !== 'string' || stored[name] === '',
      )
      if (absent.length > 0) throw new ConfigError('DATA_DIR', `${file} lacks ${absent.join(', ')}`)
      return stored as StoredSecrets
    } catch (err) {
      if (attempt >= 20) {
        if (err instanceof ConfigError) throw err
        throw new ConfigError('DATA_DIR', `${file} is not a JSON object of secrets: ${(err as Error).message}`)
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25)
    }
  }
}
