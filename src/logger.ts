import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'

// Wherever a secret could sit in a logged object. Censored, not removed, so a log line shows a value was there.
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.code',
  '*.code_verifier',
  '*.codeVerifier',
  '*.clientSecret',
  '*.client_secret',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.token',
  '*.state',
]

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: {
      // the path only: query strings carry authorization codes and state
      req: (req: { id: string; method: string; url: string; ip?: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
        ip: req.ip,
      }),
      err: pino.stdSerializers.err,
    },
  }
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(level), destination) : pino(loggerOptions(level))
}
