// Every error the service answers with: a code, its HTTP status, and a message written for the caller. The HTTP layer
// sends a BrokerError's message as it is (a 503 says what to wait for); any other error's message stays in the log.

export type ErrorCode =
  | 'invalid_request'
  | 'invalid_return_to'
  | 'invalid_scope'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'provider_check_failed'
  | 'reauthorization_required'
  | 'insufficient_scope'
  | 'user_mismatch'
  | 'account_mismatch'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'provider_refused'
  | 'too_many_open_flows'
  | 'provider_unavailable'
  | 'service_unavailable'
  | 'internal_error'

const statusOf: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_return_to: 400,
  invalid_scope: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  provider_check_failed: 400,
  reauthorization_required: 409,
  insufficient_scope: 409,
  user_mismatch: 409,
  account_mismatch: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  provider_refused: 502,
  too_many_open_flows: 429,
  provider_unavailable: 503,
  service_unavailable: 503,
  internal_error: 500,
}

export class BrokerError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  /** When to try again, sent as Retry-After. */
  readonly retryAfterSeconds: number | undefined
  /** Fields the answer carries besides `error` and `message` (never a secret). */
  readonly details: Record<string, unknown> | undefined

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number; details?: Record<string, unknown> },
  ) {
    super(message, options)
    this.name = 'BrokerError'
    this.code = code
    this.statusCode = statusOf[code]
    this.retryAfterSeconds = options?.retryAfterSeconds
    this.details = options?.details
  }
}

export const invalidRequest = (message: string) => new BrokerError('invalid_request', message)
export const notFound = (what: string) => new BrokerError('not_found', `${what} not found`)
export const unauthorized = (message = 'missing or invalid credentials') => new BrokerError('unauthorized', message)
export const forbidden = (message: string) => new BrokerError('forbidden', message)
export const conflict = (message: string) => new BrokerError('conflict', message)
export const reauthorizationRequired = (message = 'the user must authorize this provider again') =>
  new BrokerError('reauthorization_required', message)
/** A provider call was needed and did not give a usable token; `retryAfterSeconds` says when to try again. */
export const providerUnavailable = (message: string, retryAfterSeconds?: number) =>
  new BrokerError(
    'provider_unavailable',
    message,
    retryAfterSeconds === undefined ? {} : { retryAfterSeconds: Math.max(1, retryAfterSeconds) },
  )

/** The provider answered a grant the broker asked for with a refusal (our client, its scopes): nothing was stored. */
export const providerRefused = (message: string) => new BrokerError('provider_refused', message)

/** Invalid configuration: stops the start with one line per variable, naming it. */
export class ConfigError extends Error {
  readonly variable: string
  /** Every problem found, each naming its variable (this one alone, unless made by `ConfigError.all`). */
  readonly problems: readonly ConfigError[]

  constructor(variable: string, message: string, problems?: readonly ConfigError[]) {
    super(problems ? problems.map((problem) => problem.message).join('\n') : `${variable}: ${message}`)
    this.name = 'ConfigError'
    this.variable = variable
    this.problems = problems ?? [this]
  }

  /** One error that reports them all; a single problem stays itself. */
  static all(problems: readonly ConfigError[]): ConfigError {
    if (problems.length === 1) return problems[0] as ConfigError
    return new ConfigError(problems.map((problem) => problem.variable).join(', '), '', problems)
  }
}
