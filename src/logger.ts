import pino, { type Logger, type LoggerOptions } from 'pino'

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

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      // the path only: query strings carry authorization codes and state; a start link's id is as good as the link
      req: (req: { id: string; method: string; url: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: (req.url.split('?')[0] as string).replace(START_LINK, '$1[redacted]'),
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

export function createLogger(level: string): Logger {
  return pino(loggerOptions(level))
}
