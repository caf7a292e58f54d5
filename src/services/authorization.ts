// The first half of the flow: an internal caller asks for a start link; the user's browser opens it and is sent
// to the provider, bound to this flow by a cookie. Only hashes of the state and of the cookie are stored, and the
// PKCE verifier is encrypted.
import { createHash, randomBytes } from 'node:crypto'
import * as client from 'openid-client'
import { cipherContext } from '../crypto/keyring.js'
import { createAuthorizationRequestWriter } from '../db/authorization-requests.js'
import type { AuthorizationRequest, Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { BrokerError, invalidRequest, notFound, unauthorized } from '../errors.js'
import type { Dialect } from '../providers/dialect.js'
import { classifyProviderError } from '../providers/failures.js'
import { FLOW_TTL_SECONDS, type AuthorizationBody } from '../schemas/authorization.js'
import { callbackUrl, startUrl } from '../urls/public.js'
import { matchReturnTo } from '../urls/return-to.js'
import { assertProviderAllowed, type Caller } from './callers.js'
import { scopeList } from './provider-input.js'
import { assertScopesAllowed } from './scopes.js'

const PURGE_AFTER_MS = 24 * 60 * 60 * 1000
// how long a start link's view of its provider may lag a change made by another instance (this one's are seen at once)
const PROVIDER_TTL_MS = 5_000
// how long a caller's count of open flows is reused, counting on top of it the links this instance issued since
const OPEN_FLOWS_TTL_MS = 2_000
const AUTHORIZATION_ID = /^[A-Za-z0-9_-]{22}$/

// Issuing a start link runs on the driver, not Prisma: it is a hot path for callers that start many flows.
/** What issuing a start link needs of its provider. */
type LinkProvider = Pick<Provider, 'id' | 'issuer' | 'scopes' | 'allowedScopes'>
const linkProvider = {
  name: 'start_link_provider',
  text: `SELECT id, issuer, COALESCE(scopes, '{}') AS scopes, COALESCE(allowed_scopes, '{}') AS "allowedScopes"
    FROM providers WHERE id = $1`,
}
const openFlowCount = {
  name: 'start_link_open_flows',
  text: `SELECT count(*)::int AS open FROM authorization_requests
    WHERE client_id = $1 AND status IN ('created', 'started') AND expires_at > $2::timestamptz`,
}

/** How a flow can end besides `connected`; these are the `error` values sent to returnTo. */
export type FlowError =
  'access_denied' | 'invalid_state' | 'expired' | 'exchange_failed' | 'provider_unavailable' | 'account_mismatch'

export const flowCookieName = (authorizationId: string) => `tb_flow_${authorizationId}`
export const verifierContext = (authorizationId: string) =>
  cipherContext('authorization_requests', authorizationId, 'code_verifier')

export function digest(value: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(value, 'utf8').digest())
}

export interface CreatedAuthorization {
  id: string
  url: string
  expiresAt: Date
}

export type StartResult =
  | { kind: 'redirect'; location: URL; authorizationId: string; binding: string; expiresAt: Date }
  | { kind: 'failed'; error: FlowError; returnTo: string | null; providerId: string }
  | { kind: 'unknown' }

type AuthorizationDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'config' | 'now' | 'log'>

/** The first half of the flow: start links for callers, and opening them in the user's browser. */
export function createAuthorizationService(deps: AuthorizationDeps) {
  const { prisma } = deps.db
  const requests = createAuthorizationRequestWriter(deps.db)
  const providers = new Map<string, { provider: Promise<LinkProvider | null>; at: number }>()
  deps.providers.onInvalidate((id) => providers.delete(id))
  let lastPurge = 0
  const openFlows = new Map<string, { counted: Promise<number>; at: number; issued: number }>()

  /**
   * Refuses a caller's start link when it already has MAX_OPEN_FLOWS_PER_CALLER links neither finished nor expired: a
   * caller in a loop, or one whose key leaked, cannot fill the table. The count is read at most every 2 s per caller
   * (concurrent requests share the read) plus what this instance issued since, so the batched insert stays one
   * statement; other instances' links show up at the next read.
   */
  async function reserveOpenFlow(clientId: string, now: Date): Promise<void> {
    const limit = deps.config.MAX_OPEN_FLOWS_PER_CALLER
    let entry = openFlows.get(clientId)
    if (!entry || now.getTime() - entry.at >= OPEN_FLOWS_TTL_MS || now.getTime() < entry.at) {
      const counted = deps.db.sql
        .rows<{ open: number }>({ ...openFlowCount, values: [clientId, now] })
        .then(([row]) => row?.open ?? 0)
      const fresh = { counted, at: now.getTime(), issued: 0 }
      openFlows.set(clientId, fresh)
      counted.catch(() => openFlows.get(clientId) === fresh && openFlows.delete(clientId))
      entry = fresh
      if (openFlows.size > 10_000) openFlows.delete(openFlows.keys().next().value as string)
    }
    const open = (await entry.counted) + entry.issued
    if (open >= limit) {
      throw new BrokerError(
        'too_many_open_flows',
        `this caller has ${limit} start links neither used nor expired; they expire ${FLOW_TTL_SECONDS / 60} minutes after issue`,
        { retryAfterSeconds: OPEN_FLOWS_TTL_MS / 1000 },
      )
    }
    entry.issued += 1
  }

  // concurrent start links for one provider share one read of it
  function providerFor(id: string, now: number): Promise<LinkProvider | null> {
    const known = providers.get(id)
    if (known && now - known.at >= 0 && now - known.at < PROVIDER_TTL_MS) return known.provider
    const provider = deps.db.sql.rows<LinkProvider>({ ...linkProvider, values: [id] }).then(([row]) => row ?? null)
    const entry = { provider, at: now }
    providers.set(id, entry)
    const drop = () => {
      if (providers.get(id) === entry) providers.delete(id)
    }
    // an unknown provider is not kept: it may be created next
    provider.then((found) => found ?? drop(), drop)
    return provider
  }

  // Finished and abandoned requests are kept a day (for support questions), then dropped; at most once a minute.
  function purgeOldRequests(now: Date): void {
    if (now.getTime() - lastPurge < 60_000) return
    lastPurge = now.getTime()
    deps.db.sql
      // a grant still parked waits for the sweep that revokes it
      .rows({
        text: 'DELETE FROM authorization_requests WHERE expires_at < $1::timestamptz AND pending_grant_enc IS NULL',
        values: [new Date(now.getTime() - PURGE_AFTER_MS)],
      })
      .catch((err: unknown) => deps.log.warn({ err }, 'purging old authorization requests failed'))
  }

  /** Checks the caller may use the provider and the returnTo, then records the request behind a start link. */
  async function create(caller: Caller, body: AuthorizationBody): Promise<CreatedAuthorization> {
    assertProviderAllowed(caller, body.provider)
    let returnTo: string | null = null
    if (body.returnTo !== undefined) {
      const matched = matchReturnTo(body.returnTo, caller.allowedReturnTo)
      if (!matched)
        throw new BrokerError('invalid_return_to', "returnTo does not match any of the caller's allowedReturnTo")
      returnTo = matched.href
    }
    if (body.confirm && returnTo === null) {
      throw invalidRequest('confirm needs returnTo: the one-time result of the flow is sent there')
    }
    const now = deps.now()
    const provider = await providerFor(body.provider, now.getTime())
    if (!provider) throw notFound('provider')
    if (body.scopes) assertScopesAllowed(body.scopes, provider.allowedScopes)

    await reserveOpenFlow(caller.id, now)
    const id = randomBytes(16).toString('base64url')
    const expiresAt = new Date(now.getTime() + FLOW_TTL_SECONDS * 1000)
    await requests
      .insert({
        id,
        providerId: provider.id,
        clientId: caller.id,
        namespace: caller.namespace,
        userId: body.userId,
        scopes: requestedScopes(provider, body.scopes),
        returnTo,
        expiresAt,
        allowAccountChange: body.allowAccountChange ?? false,
        confirm: body.confirm ?? false,
      })
      .catch((err: unknown) => {
        // the provider or the caller was deleted by another instance since this one read it
        const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown }
        if (code === '23503') throw String(constraint).includes('provider') ? notFound('provider') : unauthorized()
        throw err
      })
    purgeOldRequests(now)
    return { id, url: startUrl(deps.config.PUBLIC_URL, id).href, expiresAt }
  }

  /**
   * Opens a start link, once: claims the request, binds it to a fresh browser secret (`binding`, for the cookie) and
   * returns the provider's authorization URL with state, PKCE S256 and, when an ID token is requested, a nonce.
   */
  async function start(id: string): Promise<StartResult> {
    if (!AUTHORIZATION_ID.test(id)) return { kind: 'unknown' }
    const request = await prisma.authorizationRequest.findUnique({
      where: { id },
      include: { provider: true, client: { select: { revokedAt: true } } },
    })
    if (!request) return { kind: 'unknown' }
    const ended = (error: FlowError): StartResult => ({
      kind: 'failed',
      error,
      returnTo: request.returnTo,
      providerId: request.providerId,
    })
    const now = deps.now()
    const failed = async (error: FlowError): Promise<StartResult> => {
      await prisma.authorizationRequest.updateMany({
        where: { id, status: 'created' },
        data: { status: 'failed', outcome: error, completedAt: now },
      })
      return ended(error)
    }
    if (request.status !== 'created') return ended('invalid_state')
    if (request.expiresAt <= now) return failed('expired')
    // a caller revoked since it issued the link can no longer start it
    if (request.client.revokedAt) return failed('invalid_state')

    let config: client.Configuration
    try {
      config = await deps.providers.configFor(request.provider)
    } catch (err) {
      // the request stays unopened: the user may try the link again
      const failure = classifyProviderError(err)
      deps.log.warn(
        {
          provider: request.providerId,
          url: request.provider.issuer ?? request.provider.authorizationEndpoint,
          failure: failure.kind,
          errorCode: failure.code,
          reason: failure.message,
        },
        `discovery failed: ${failure.message}`,
      )
      return ended('provider_unavailable')
    }

    const state = client.randomState()
    const binding = randomBytes(32).toString('base64url')
    const verifier = request.provider.pkce ? client.randomPKCECodeVerifier() : undefined
    // an ID token (and so a nonce) is expected from OpenID Connect providers only
    const nonce = request.provider.issuer && request.scopes.includes('openid') ? client.randomNonce() : undefined
    const expiresAt = new Date(now.getTime() + FLOW_TTL_SECONDS * 1000)
    const claimed = await prisma.authorizationRequest.updateMany({
      where: { id, status: 'created', expiresAt: { gt: now } },
      data: {
        status: 'started',
        startedAt: now,
        expiresAt,
        stateHash: digest(state),
        bindingHash: digest(binding),
        codeVerifierEnc: verifier ? deps.keyring.encrypt(verifier, verifierContext(id)) : null,
        nonce: nonce ?? null,
      },
    })
    if (claimed.count !== 1) return ended('invalid_state')

    const location = client.buildAuthorizationUrl(
      config,
      await authorizationParameters(request, deps.config.PUBLIC_URL, {
        state,
        nonce,
        verifier,
        dialect: deps.providers.dialectFor(request.provider),
      }),
    )
    return { kind: 'redirect', location, authorizationId: id, binding, expiresAt }
  }

  return { create, start }
}

export type AuthorizationService = ReturnType<typeof createAuthorizationService>

// OpenID Connect providers always get `openid`: the ID token is what carries the nonce check and the subject.
function requestedScopes(provider: LinkProvider, scopes: string[] | undefined): string[] {
  const list = scopes === undefined ? provider.scopes : scopeList('scopes', scopes)
  return provider.issuer && !list.includes('openid') ? ['openid', ...list] : list
}

/** The query of the authorization URL: the provider's own parameters first, ours over them. */
export async function authorizationParameters(
  request: Pick<AuthorizationRequest, 'scopes'> & { provider: Pick<Provider, 'id' | 'authorizationParams'> },
  publicUrl: URL,
  checks: {
    state: string
    nonce?: string | undefined
    verifier?: string | undefined
    dialect: Pick<Dialect, 'scopeParameter' | 'scopeSeparator'>
  },
): Promise<Record<string, string>> {
  const params: Record<string, string> = {
    ...((request.provider.authorizationParams ?? {}) as Record<string, string>),
    redirect_uri: callbackUrl(publicUrl, request.provider.id).href,
    state: checks.state,
  }
  if (request.scopes.length > 0)
    params[checks.dialect.scopeParameter] = request.scopes.join(checks.dialect.scopeSeparator)
  if (checks.nonce) params.nonce = checks.nonce
  if (checks.verifier) {
    params.code_challenge = await client.calculatePKCECodeChallenge(checks.verifier)
    params.code_challenge_method = 'S256'
  }
  return params
}
