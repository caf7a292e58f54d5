import { randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { generateKey, parseKeyList, type KeyringKey } from './crypto/keyring.js'
import { ConfigError } from './errors.js'

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

/** The environment, one entry per variable: how it parses and what it defaults to. */
const schema = {
  NODE_ENV: { parse: oneOf(['development', 'production', 'test']), default: 'development' },
  PORT: { parse: int(0, 65535), default: '3000' },
  HOST: { parse: (_: string, raw: string) => raw, default: '127.0.0.1' },
  PUBLIC_URL: { parse: urlOf(['http:', 'https:']), default: undefined },
  TRUST_PROXY: { parse: trustProxy, default: undefined },
  DATABASE_URL: { parse: urlOf(['postgres:', 'postgresql:']), default: undefined, requiredInProduction: true },
  DATA_DIR: { parse: (_: string, raw: string) => resolve(raw), default: './data' },
  ENCRYPTION_KEYS: { parse: keys, default: undefined, requiredInProduction: true, generated: true },
  COOKIE_SECRET: { parse: secret(32), default: undefined, requiredInProduction: true, generated: true },
  ADMIN_TOKEN: { parse: secret(24), default: undefined, requiredInProduction: true, generated: true },
  PROVIDERS_FILE: { parse: (_: string, raw: string) => resolve(raw), default: undefined },
  TEMPLATES_FILE: { parse: (_: string, raw: string) => resolve(raw), default: undefined },
  REFRESH_INTERVAL_SECONDS: { parse: int(1, 3600), default: '15' },
  REFRESH_WINDOW_SECONDS: { parse: int(0, 86400), default: '300' },
  REFRESH_CONCURRENCY: { parse: int(1, 256), default: '8' },
  LOG_LEVEL: { parse: oneOf(LOG_LEVELS), default: 'info' },
} as const

type Schema = typeof schema
type Parsed<K extends keyof Schema> = ReturnType<Schema[K]['parse']>
type Generated = { [K in keyof Schema]: Schema[K] extends { generated: true } ? K : never }[keyof Schema]

/** The validated configuration. Secrets are always present once loaded (given, or generated in development). */
export type Config = {
  [K in Exclude<keyof Schema, Generated>]: Schema[K]['default'] extends string ? Parsed<K> : Parsed<K> | undefined
} & {
  [K in Generated]: Parsed<K>
} & { PUBLIC_URL: URL }

export interface LoadedConfig {
  config: Config
  warnings: string[]
}

/** Validates the environment; in development, generates missing secrets into DATA_DIR (and says so). */
export function loadConfig(env: Env = process.env): LoadedConfig {
  const out: Record<string, unknown> = {}
  const warnings: string[] = []
  const production = (env.NODE_ENV ?? 'development') === 'production'
  for (const [name, spec] of Object.entries(schema)) {
    const raw = env[name] === '' ? undefined : env[name]
    if (raw === undefined && production && 'requiredInProduction' in spec) {
      throw new ConfigError(name, 'is required when NODE_ENV=production')
    }
    const value = raw ?? spec.default
    out[name] = value === undefined ? undefined : (spec.parse as (n: string, r: string) => unknown)(name, value)
  }
  const config = out as Config
  config.PUBLIC_URL ??= new URL(`http://localhost:${config.PORT}`)
  if (!config.DATABASE_URL) warnings.push(`DATABASE_URL is not set: using the embedded database in ${config.DATA_DIR}`)
  const missing = (['ENCRYPTION_KEYS', 'COOKIE_SECRET', 'ADMIN_TOKEN'] as const).filter((name) => !out[name])
  if (missing.length > 0) {
    const generated = developmentSecrets(config.DATA_DIR)
    for (const name of missing) (config as Record<string, unknown>)[name] = generated[name]
    warnings.push(
      `${missing.join(', ')} not set: using development values from ${join(config.DATA_DIR, 'secrets.json')}`,
    )
  }
  return { config, warnings }
}

interface DevelopmentSecrets {
  ENCRYPTION_KEYS: KeyringKey[]
  COOKIE_SECRET: string
  ADMIN_TOKEN: string
}

function developmentSecrets(dataDir: string): DevelopmentSecrets {
  const file = join(dataDir, 'secrets.json')
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true })
    const fresh = {
      ENCRYPTION_KEYS: `dev1:${generateKey().toString('base64')}`,
      COOKIE_SECRET: randomBytes(32).toString('base64url'),
      ADMIN_TOKEN: randomBytes(24).toString('base64url'),
    }
    writeFileSync(file, JSON.stringify(fresh, null, 2) + '\n', { mode: 0o600 })
  }
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<
    'ENCRYPTION_KEYS' | 'COOKIE_SECRET' | 'ADMIN_TOKEN',
    string
  >
  return {
    ENCRYPTION_KEYS: keys('ENCRYPTION_KEYS', stored.ENCRYPTION_KEYS),
    COOKIE_SECRET: stored.COOKIE_SECRET,
    ADMIN_TOKEN: stored.ADMIN_TOKEN,
  }
}
