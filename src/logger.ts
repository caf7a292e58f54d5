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

// Wherever a secret could sit in a logged object. Censored, not removed, so a log line shows a value was there.
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["set-cookie"]',
  ...secretFields.flatMap((field) => [field, `*.${field}`]),
]

const START_LINK = /^(\/oauth\/start\/)[^/]+/

/** A request URL as logs and traces may show it: the path only (query strings carry codes and state), start links' ids hidden. */
export function shownPath(url: string): string {
  return (url.split('?')[0] as string).replace(START_LINK, '$1[redacted]')
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      // the path only: query strings carry authorization codes and state; a start link's id is as good as the link
      req: (req: { id: string; method: string; url: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: shownPath(req.url),
        ip: req.ip,
      }),
      // an Error's `code` is the thrower's error code (OAUTH_TIMEOUT, ECONNREFUSED), not an authorization code:
      // moved aside so that redacting `*.code` does not hide it
      err: (err: Error) => {
        const { code, ...serialized } = pino.stdSerializers.err(err) as { code?: unknown }
        return code === undefined ? serialized : { ...serialized, errorCode: code }
      },
    },
  }
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
  return format === 'pretty' ? pino(options, prettyStream()) : pino(options)
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
