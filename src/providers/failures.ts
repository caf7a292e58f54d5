import * as client from 'openid-client'

/**
 * What a failed call to a provider means for us. `invalid_grant`: this user's grant is gone (reauthorize);
 * `invalid_client`: our own credentials are wrong (flag the provider, condemn no connection); `transient`:
 * network, timeout, 5xx, 429 or a malformed answer (retry later); `rejected`: any other OAuth error.
 */
export type ProviderFailure = (
  | { kind: 'invalid_grant'; message: string }
  | { kind: 'invalid_client'; message: string }
  | { kind: 'transient'; message: string; retryAfterSeconds?: number }
  | { kind: 'rejected'; error: string; message: string }
) & {
  /** The error's own code, for the log: OAUTH_TIMEOUT, ECONNREFUSED, invalid_grant, HTTP_502. */
  code?: string
}

/** An OAuth error code as a provider sent it, if it is a short ASCII word; anything else is not echoed. */
export const safeOAuthCode = (value: unknown): string =>
  typeof value === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(value) ? value : 'unknown_error'

function retryAfter(response: Response | undefined): number | undefined {
  const header = response?.headers.get('retry-after')
  if (!header) return undefined
  if (/^\d+$/.test(header)) return Number(header)
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/** Classifies by OAuth error code first, status second: Auth0 answers invalid_grant with HTTP 403. */
export function classifyProviderError(err: unknown): ProviderFailure {
  const code = errorCodeOf(err)
  const failure = classify(err)
  return code === undefined ? failure : { ...failure, code }
}

const ERROR_CODE = /^[A-Za-z][A-Za-z0-9_]{2,63}$/

/**
 * The most specific code a failure carries: a network error's (ECONNREFUSED, under openid-client's or fetch's
 * wrapper), openid-client's (OAUTH_TIMEOUT), the provider's OAuth error, or the HTTP status of a malformed answer.
 */
function errorCodeOf(err: unknown): string | undefined {
  let found: string | undefined
  let current: unknown = err
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string' && ERROR_CODE.test(code)) found = code
    current = (current as { cause?: unknown }).cause
  }
  if (err instanceof client.ResponseBodyError) return safeOAuthCode(err.error)
  const status = err instanceof Error ? responseStatus(err) : undefined
  return found ?? (status === undefined ? undefined : `HTTP_${status}`)
}

function classify(err: unknown): ProviderFailure {
  // Messages are built from codes and statuses only: some errors' causes carry the whole token response.
  if (err instanceof client.ResponseBodyError) {
    const code = safeOAuthCode(err.error)
    const status = err.status
    if (code === 'invalid_grant')
      return { kind: 'invalid_grant', message: `provider answered invalid_grant (HTTP ${status})` }
    if (code === 'invalid_client' || code === 'unauthorized_client') {
      return { kind: 'invalid_client', message: `provider refused our client credentials: ${code} (HTTP ${status})` }
    }
    if (status >= 500 || status === 429 || code === 'temporarily_unavailable' || code === 'server_error') {
      return transient(`provider answered ${code} (HTTP ${status})`, retryAfter(err.response))
    }
    return { kind: 'rejected', error: code, message: `provider answered ${code} (HTTP ${status})` }
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const code = safeOAuthCode(err.cause[0]?.parameters.error)
    if (err.status === 401 || code === 'invalid_client') {
      return { kind: 'invalid_client', message: `provider refused our client credentials (HTTP ${err.status})` }
    }
    return transient(`provider challenged the request (HTTP ${err.status})`, retryAfter(err.response))
  }
  if (err instanceof client.ClientError) {
    if (err.code === 'OAUTH_TIMEOUT') return transient('provider did not answer in time')
    if (
      err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' ||
      err.code === 'OAUTH_RESPONSE_IS_NOT_JSON' ||
      err.code === 'OAUTH_PARSE_ERROR'
    ) {
      const status = responseStatus(err)
      if (status === 429) return transient('provider is rate limiting (HTTP 429)', retryAfter(responseOf(err)))
      // an error status outside RFC 6749's 400/401 (a 502 from a proxy, a 503 during maintenance) is an outage
      if (status !== undefined && status >= 500)
        return transient(`provider answered HTTP ${status}`, retryAfter(responseOf(err)))
      return transient(`provider sent a malformed response${status ? ` (HTTP ${status})` : ''}`)
    }
    if (err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED' || err.code === 'OAUTH_INVALID_RESPONSE') {
      return transient(`provider sent an invalid response (${err.code})`)
    }
    return transient(`provider call failed (${safeOAuthCode(err.code)})`)
  }
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return transient('provider did not answer in time')
  }
  if (err instanceof TypeError) return transient('could not reach the provider')
  return transient('provider call failed')
}

function transient(message: string, retryAfterSeconds?: number): ProviderFailure {
  return retryAfterSeconds === undefined
    ? { kind: 'transient', message }
    : { kind: 'transient', message, retryAfterSeconds }
}

function responseOf(err: Error): Response | undefined {
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Response ? cause : undefined
}

function responseStatus(err: Error): number | undefined {
  return responseOf(err)?.status
}
