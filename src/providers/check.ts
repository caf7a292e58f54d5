// POST /admin/providers/:id/check: whether a provider's settings can work, with a message an operator can act on for
// the usual mistakes (an issuer with or without its trailing slash, a discovery document behind a redirect, a
// multi-tenant issuer template). Nothing secret is sent: no client credentials, no tokens.
import { isHttpsOrLoopback } from '../urls/rules.js'
import { discoveryUrl, errorCodeOf } from './registry.js'

export interface CheckResult {
  name: string
  ok: boolean
  detail: string
}

export interface CheckedSettings {
  issuer: string | null
  authorizationEndpoint: string | null
  tokenEndpoint: string | null
  revocationEndpoint: string | null
}

type Fetch = typeof globalThis.fetch

/** Runs every check that applies to the settings; `ok` is whether all passed. */
export async function checkProviderSettings(
  settings: CheckedSettings,
  fetch: Fetch,
  timeoutSeconds: number,
): Promise<{ ok: boolean; checks: CheckResult[] }> {
  const call = (url: string, init: RequestInit = {}) =>
    fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutSeconds * 1000) })
  const checks: CheckResult[] = []
  if (settings.issuer) {
    const found = await discover(settings.issuer, call, checks)
    if (found) {
      const urls = [found.authorization_endpoint, found.token_endpoint, found.revocation_endpoint]
      checks.push(httpsCheck('discovered_endpoints_https', urls))
    }
  } else {
    checks.push(await reachable('authorization_endpoint_reachable', settings.authorizationEndpoint as string, call))
    checks.push(await reachable('token_endpoint_reachable', settings.tokenEndpoint as string, call, 'POST'))
  }
  checks.push(
    httpsCheck('endpoints_https', [
      settings.issuer,
      settings.authorizationEndpoint,
      settings.tokenEndpoint,
      settings.revocationEndpoint,
    ]),
  )
  return { ok: checks.every((check) => check.ok), checks }
}

interface DiscoveryDocument {
  issuer?: unknown
  authorization_endpoint?: unknown
  token_endpoint?: unknown
  revocation_endpoint?: unknown
}

async function discover(
  issuer: string,
  call: (url: string) => Promise<Response>,
  checks: CheckResult[],
): Promise<DiscoveryDocument | undefined> {
  const url = discoveryUrl(new URL(issuer))
  const fail = (detail: string) => {
    checks.push({ name: 'discovery', ok: false, detail })
    return undefined
  }
  let response: Response
  try {
    response = await call(url)
  } catch (err) {
    return fail(`could not reach ${url} (${errorCodeOf(err)})`)
  }
  const location = response.headers.get('location')
  if (response.status >= 300 && response.status < 400) {
    return fail(
      `${url} redirects to ${location ?? 'another address'}: the issuer must be the URL its discovery document is ` +
        'served under, without a redirect (set issuer to the issuer that document names)',
    )
  }
  if (response.status !== 200) {
    const slash = issuer.endsWith('/') ? 'without' : 'with'
    return fail(`${url} answered HTTP ${response.status}: is the issuer right (try it ${slash} its trailing slash)?`)
  }
  let document: DiscoveryDocument
  try {
    document = (await response.json()) as DiscoveryDocument
  } catch {
    return fail(`${url} is not a JSON document`)
  }
  checks.push({ name: 'discovery', ok: true, detail: `${url} answered a discovery document` })
  checks.push(issuerCheck(issuer, document.issuer))
  return document
}

function issuerCheck(configured: string, discovered: unknown): CheckResult {
  const name = 'issuer_matches'
  if (discovered === configured) return { name, ok: true, detail: `the document names issuer ${configured}` }
  if (typeof discovered !== 'string') return { name, ok: false, detail: 'the document names no issuer' }
  if (/\{[a-z]+\}/i.test(discovered)) {
    return {
      name,
      ok: false,
      detail:
        `the document's issuer is a template (${discovered}), as on multi-tenant endpoints: configure the tenant's ` +
        'own issuer, or the endpoints instead of an issuer',
    }
  }
  if (discovered.replace(/\/$/, '') === configured.replace(/\/$/, '')) {
    const slash = discovered.endsWith('/') ? 'with' : 'without'
    return {
      name,
      ok: false,
      detail: `the provider's issuer is ${discovered}, ${slash} a trailing slash: set exactly that`,
    }
  }
  return { name, ok: false, detail: `the document names issuer ${discovered}, not ${configured}` }
}

async function reachable(
  name: string,
  url: string,
  call: (url: string, init?: RequestInit) => Promise<Response>,
  method: 'GET' | 'POST' = 'GET',
): Promise<CheckResult> {
  let response: Response
  try {
    // an empty token request: any answer but a missing page or a failure shows the endpoint is there
    response = await call(url, method === 'POST' ? { method, body: new URLSearchParams() } : { method })
  } catch (err) {
    return { name, ok: false, detail: `could not reach ${url} (${errorCodeOf(err)})` }
  }
  await response.body?.cancel()
  if (response.status === 404) return { name, ok: false, detail: `${url} answered HTTP 404: is the URL right?` }
  if (response.status >= 500) return { name, ok: false, detail: `${url} answered HTTP ${response.status}` }
  return { name, ok: true, detail: `${url} answered HTTP ${response.status}` }
}

function httpsCheck(name: string, urls: unknown[]): CheckResult {
  const wrong = urls.filter((url): url is string => typeof url === 'string' && !URL.canParse(url)) as string[]
  wrong.push(
    ...urls.filter(
      (url): url is string => typeof url === 'string' && URL.canParse(url) && !isHttpsOrLoopback(new URL(url)),
    ),
  )
  return wrong.length === 0
    ? { name, ok: true, detail: 'every endpoint is https (or loopback)' }
    : { name, ok: false, detail: `not https: ${wrong.join(', ')}` }
}
