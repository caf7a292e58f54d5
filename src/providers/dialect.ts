// How a provider speaks OAuth when it does not speak RFC 6749, from its template: the one place that translates its
// token responses (nested tokens, expires_in in milliseconds, scopes joined by commas or sent as a list, errors in an
// HTTP 200 or in fields of its own) into the standard shape, before openid-client reads them. Everything after this
// (failure classification, storage) sees one dialect only.
import type { ErrorRule, Template } from '../schemas/template.js'
import { responseOf, type ProviderAnswer, type ProviderHttp } from './http.js'

export interface Dialect {
  bodyFormat: 'form' | 'json'
  expiresInUnit: 'seconds' | 'milliseconds'
  scopeSeparator: string
  grantedScopeSeparator: string
  scopeParameter: string
  tokenParams: Record<string, string>
  refreshParams: Record<string, string>
  refreshEndpoint: string | undefined
  paths: { accessToken: string[]; refreshToken: string[]; expiresIn: string[]; scope: string[]; subject: string[] }
  tokenType: string | undefined
  errorRules: ErrorRule[]
  metadata: { tokenResponse: string[]; callbackQuery: string[] }
}

const list = (value: string | string[] | undefined, standard: string[] = []) =>
  value === undefined ? standard : Array.isArray(value) ? value : [value]

/** The dialect of a template; a provider without one speaks plain RFC 6749. */
export function dialectOf(template: Template | undefined): Dialect {
  const paths = template?.tokenResponse ?? {}
  return {
    bodyFormat: template?.bodyFormat ?? 'form',
    expiresInUnit: template?.expiresInUnit ?? 'seconds',
    scopeSeparator: template?.scopeSeparator ?? ' ',
    grantedScopeSeparator: template?.grantedScopeSeparator ?? template?.scopeSeparator ?? ' ',
    scopeParameter: template?.scopeParameter ?? 'scope',
    tokenParams: template?.tokenParams ?? {},
    refreshParams: template?.refreshParams ?? {},
    refreshEndpoint: template?.refreshEndpoint,
    paths: {
      accessToken: list(paths.accessToken, ['access_token']),
      refreshToken: list(paths.refreshToken, ['refresh_token']),
      expiresIn: list(paths.expiresIn, ['expires_in']),
      scope: list(paths.scope, ['scope']),
      subject: list(paths.subject),
    },
    tokenType: paths.tokenType,
    errorRules: template?.errorRules ?? [],
    metadata: {
      tokenResponse: template?.metadata?.tokenResponse ?? [],
      callbackQuery: template?.metadata?.callbackQuery ?? [],
    },
  }
}

// a template's paths are few and read on every token answer: each is split once
const segments = new Map<string, string[]>()
const segmentsOf = (path: string): string[] => {
  let parts = segments.get(path)
  if (!parts) segments.set(path, (parts = path.split('.')))
  return parts
}

/** The value at a dotted path (`team.id`) of a JSON object. */
export function valueAt(body: unknown, path: string): unknown {
  let value = body
  for (const part of segmentsOf(path)) {
    if (!isRecord(value)) return undefined
    value = value[part]
  }
  return value
}

function firstAt(body: unknown, paths: string[]): unknown {
  for (const path of paths) {
    const value = valueAt(body, path)
    if (value !== undefined && value !== null) return value
  }
  return undefined
}

const MAX_METADATA_VALUE = 500

function scalar(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined
  const text = String(value)
  return text.length > 0 && text.length <= MAX_METADATA_VALUE ? text : undefined
}

/** The account at the provider, from the token response, when the template says where it is. */
export function subjectOf(response: object, dialect: Dialect): string | null {
  return scalar(firstAt(response, dialect.paths.subject)) ?? null
}

/** The fields a template keeps as connection metadata, by their path or query parameter name. */
export function metadataOf(response: object, dialect: Dialect, query?: URLSearchParams): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const path of dialect.metadata.tokenResponse) {
    const value = scalar(valueAt(response, path))
    if (value !== undefined) metadata[path] = value
  }
  for (const name of query ? dialect.metadata.callbackQuery : []) {
    const value = scalar(query?.get(name) ?? undefined)
    if (value !== undefined) metadata[name] = value
  }
  return metadata
}

const SPACED_SCOPES = /^\S+(?: \S+)*$/

/** Scopes as the provider writes them (a list, or joined by its separator), as one space-separated string. */
export function grantedScope(value: unknown, separator: string): string | undefined {
  // most answers already are what this returns: scopes with one space between them
  if (separator === ' ' && typeof value === 'string' && SPACED_SCOPES.test(value)) return value
  const scopes = Array.isArray(value)
    ? value.filter((scope): scope is string => typeof scope === 'string')
    : typeof value === 'string'
      ? value.split(separator === ' ' ? /\s+/ : separator)
      : []
  const joined = scopes
    .map((scope) => scope.trim())
    .filter(Boolean)
    .join(' ')
  return joined === '' ? undefined : joined
}

function matches(rule: ErrorRule, status: number, body: Record<string, unknown>): boolean {
  if (rule.status && !rule.status.includes(status)) return false
  return Object.entries(rule.body).every(([path, expected]) => {
    const value = valueAt(body, path)
    return Array.isArray(expected) ? expected.includes(value as never) : value === expected
  })
}

const STANDARD_ERRORS = { reauthorize: 'invalid_grant', invalid_client: 'invalid_client' } as const

/** A standard answer for what the provider said: its body read as form or JSON, error rules applied, fields mapped. */
export function translateTokenAnswer(
  status: number,
  body: Record<string, unknown>,
  dialect: Dialect,
): { status: number; body: Record<string, unknown> } {
  const rule = dialect.errorRules.find((candidate) => matches(candidate, status, body))
  if (rule?.means === 'transient')
    return { status: status >= 500 ? status : 503, body: { error: 'temporarily_unavailable' } }
  if (rule)
    return { status: status >= 400 && status < 500 ? status : 400, body: { error: STANDARD_ERRORS[rule.means] } }
  const accessToken = firstAt(body, dialect.paths.accessToken)
  if (status < 200 || status >= 300) return { status, body }
  // a standard error body in a success status (GitHub)
  if (typeof body.error === 'string' && typeof accessToken !== 'string') return { status: 400, body }
  const normalized: Record<string, unknown> = { ...body }
  const put = (field: string, value: unknown) => {
    if (value === undefined) delete normalized[field]
    else normalized[field] = value
  }
  put('access_token', accessToken)
  put('refresh_token', firstAt(body, dialect.paths.refreshToken))
  put('expires_in', expiresIn(firstAt(body, dialect.paths.expiresIn), dialect.expiresInUnit))
  // a scope that is neither a string nor a list stays as it is: openid-client refuses the malformed answer
  const scope = firstAt(body, dialect.paths.scope)
  put(
    'scope',
    typeof scope === 'string' || Array.isArray(scope) ? grantedScope(scope, dialect.grantedScopeSeparator) : scope,
  )
  // RFC 6749 requires token_type, but GoTo documents token responses without it
  // (https://developer.goto.com/guides/Authentication/05_HOW_refreshToken/): those are Bearer tokens
  put('token_type', dialect.tokenType ?? (typeof body.token_type === 'string' ? body.token_type : 'Bearer'))
  return { status, body: normalized }
}

function expiresIn(value: unknown, unit: Dialect['expiresInUnit']): number | undefined {
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return undefined
  return unit === 'milliseconds' ? Math.floor(seconds / 1000) : seconds
}

/**
 * Wraps the fetch of one provider: token requests (a POST whose form has `grant_type`) go to the refresh endpoint
 * when the template has one, as JSON when it asks for it, and their answers come back translated (taken before they
 * became a Response, so that each is made one once).
 */
export function withDialect({ fetch, answer }: ProviderHttp, dialect: Dialect): typeof globalThis.fetch {
  return async (input, init) => {
    const form = init?.body instanceof URLSearchParams ? init.body : undefined
    const grantType = form?.get('grant_type')
    if (init?.method !== 'POST' || !form || !grantType) return fetch(input, init)
    const target = grantType === 'refresh_token' && dialect.refreshEndpoint ? dialect.refreshEndpoint : input
    let request: RequestInit = init
    if (dialect.bodyFormat === 'json') {
      const headers = new Headers(init.headers)
      headers.set('content-type', 'application/json')
      request = { ...init, headers, body: JSON.stringify(Object.fromEntries(form)) }
    }
    return translated(await answer(target, request), dialect)
  }
}

function translated(answer: ProviderAnswer, dialect: Dialect): Response {
  const text = answer.body?.toString('utf8') ?? ''
  const contentType = answer.headers['content-type']
  const body = parseBody(text, (Array.isArray(contentType) ? contentType[0] : contentType) ?? '')
  if (!body) return responseOf(answer)
  const standard = translateTokenAnswer(answer.status, body, dialect)
  return responseOf(answer, {
    status: standard.status,
    body: JSON.stringify(standard.body),
    contentType: 'application/json',
  })
}

/** A JSON object, or a form-encoded answer (GitHub's, unless JSON is asked for); undefined for anything else. */
function parseBody(text: string, contentType: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    return isRecord(parsed) ? parsed : undefined
  } catch {
    if (!/x-www-form-urlencoded|text\/plain/i.test(contentType) || !/^[^=&\s]+=/.test(text)) return undefined
    return Object.fromEntries(new URLSearchParams(text.trim()))
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
