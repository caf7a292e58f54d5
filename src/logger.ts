import { createRequire } from 'node:module'
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'

// Field names that hold a secret wherever they appear: at the top of a log object or one level down.
const secretFields = [
  'accessToken',
  'refreshToken',
  'idToken',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'code_verifier',
  'codeVerifier',
  'clientSecret',
  'client_secret',
  'apiKey',
  'secret',
  'password',
  'token',
  'state',
  'authorization',
  'cookie',
  'ADMIN_TOKEN',
  'COOKIE_SECRET',
  'ENCRYPTION_KEYS',
]

const SECRET_FIELDS = new Set(secretFields)
const SECRET_HEADERS = new Set(['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'])
const CENSOR = '[redacted]'

// pino's own redaction, for names at the top of a logged object or of a child logger's bindings, and for the headers
// of a request or a response. Its wildcard paths (`*.token`) are not used: pino runs every wildcard path over every
// child logger's bindings, and Fastify makes a child logger for every request (3 µs each, a tenth of a served token).
// Deeper is `censorNested`'s, run on each line actually written.
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["set-cookie"]',
  ...secretFields,
]

/** How deep into a logged field secrets are looked for (objects and lists). */
const CENSOR_DEPTH = 4

/**
 * `value` with its secret fields censored at any depth up to CENSOR_DEPTH, and the secret headers of any `headers`
 * field in it: a copy where anything was censored, `value` itself otherwise (a logged object is never changed).
 * Censored, not removed, so a log line shows a value was there. An Error is looked into as JSON shows it (its own
 * enumerable fields).
 */
export function censorFields(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || depth > CENSOR_DEPTH) return value
  // a value that says how it is written (a Date, a Secret) is written that way
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value
  if (Array.isArray(value)) {
    let list: unknown[] | undefined
    value.forEach((item: unknown, i) => {
      const censored = censorFields(item, depth + 1)
      if (censored !== item) (list ??= [...value])[i] = censored
    })
    return list ?? value
  }
  let copy: Record<string, unknown> | undefined
  // for...in, not Object.entries: no list of pairs for every object looked into (every request's child logger)
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue
    const field = (value as Record<string, unknown>)[key]
    const censored = censorField(key, field, depth + 1)
    if (censored !== field) (copy ??= { ...value })[key] = censored
  }
  return copy ?? value
}

function censorField(key: string, field: unknown, depth: number): unknown {
  if (SECRET_FIELDS.has(key)) return field === undefined ? field : CENSOR
  if (key === 'headers' && field !== null && typeof field === 'object') return censorHeaders(field)
  return censorFields(field, depth)
}

function censorHeaders(headers: object): object {
  let copy: Record<string, unknown> | undefined
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue
    const value = (headers as Record<string, unknown>)[name]
    const secret = SECRET_HEADERS.has(name.toLowerCase()) || SECRET_FIELDS.has(name)
    if (secret && value !== undefined) (copy ??= { ...headers })[name] = CENSOR
  }
  return copy ?? headers
}

// fields that pino serializes first: their serializers' output is what is written (and `err`'s is censored there)
const SERIALIZED = new Set(['req', 'res', 'err'])

/**
 * A log line's fields, censored; those with a serializer are left to it. A field that cannot be read (a getter that
 * throws) leaves nothing of the line's fields to write but a note, rather than anything uncensored.
 */
export function censorNested(line: Record<string, unknown>): Record<string, unknown> {
  try {
    let copy: Record<string, unknown> | undefined
    for (const key in line) {
      if (!Object.hasOwn(line, key) || SERIALIZED.has(key)) continue
      const field = line[key]
      const censored = censorField(key, field, 0)
      if (censored !== field) (copy ??= { ...line })[key] = censored
    }
    return copy ?? line
  } catch {
    return { censorFailed: 'a logged field could not be read; its fields are left out' }
  }
}

const START_LINK = /^(\/oauth\/start\/)[^/]+/

/** A request URL as logs and traces may show it: the path only (query strings carry codes and state), start links' ids hidden. */
export function shownPath(url: string): string {
  return (url.split('?')[0] as string).replace(START_LINK, '$1[redacted]')
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: CENSOR },
    formatters: { log: censorNested },
    serializers: {
      // the path only: query strings carry authorization codes and state; a start link's id is as good as the link
      req: (req: { id: string; method: string; url: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: shownPath(req.url),
        ip: req.ip,
      }),
      // as Fastify's request logger writes a reply, for lines written by the base logger too
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      // an Error's `code` is the thrower's error code (OAUTH_TIMEOUT, ECONNREFUSED), not an authorization code:
      // moved aside so that redacting `*.code` does not hide it
      err: (err: Error) => {
        const { code, ...serialized } = pino.stdSerializers.err(err) as { code?: unknown }
        return censorFields(code === undefined ? serialized : { ...serialized, errorCode: code })
      },
    },
  }
}

const CENSORING = Symbol('token-broker.censoring-children')

/**
 * `logger`, with the bindings of every child logger made from it (and from those) censored as a line's fields are:
 * pino writes a child's bindings as they were bound, past `formatters.log`, and its own redaction looks only at their
 * top level. Censored once, when the child is made (Fastify makes one per request, from `{ reqId }`).
 */
export function censorChildBindings(logger: Logger): Logger {
  const target = logger as Logger & { [CENSORING]?: true }
  if (target[CENSORING]) return logger
  const child = logger.child
  target.child = function (this: Logger, bindings: Record<string, unknown>, options?: object) {
    return child.call(this, censorNested(bindings), options)
  } as Logger['child']
  target[CENSORING] = true
  return logger
}

export interface LoggerSettings {
  level: string
  /** json: one object a line, for collectors; pretty: local times, colours on a terminal, fields below the message. */
  format?: 'json' | 'pretty'
  /** Fields added to every line (the trace id, when tracing is on). */
  mixin?: () => Record<string, unknown>
}

export function createLogger({ level, format = 'json', mixin }: LoggerSettings): Logger {
  const options = { ...loggerOptions(level), ...(mixin ? { mixin } : {}) }
  return censorChildBindings(format === 'pretty' ? pino(options, prettyStream()) : pino(options))
}

// pino-pretty only where it is used; synchronous, so the last lines before an exit are not lost
function prettyStream(): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: object) => DestinationStream
  return pretty({
    sync: true,
    colorize: process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
  })
}
