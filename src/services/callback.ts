// The second half of the flow: the provider sends the browser back with a code. Everything that can be refused
// is refused before the token request: a replayed code makes real providers revoke the user's grant.
import { timingSafeEqual } from 'node:crypto'
import * as client from 'openid-client'
import { Secret } from '../crypto/secret.js'
import type { AuthorizationRequest, Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { metadataOf, subjectOf } from '../providers/dialect.js'
import { classifyProviderError, safeOAuthCode, type ProviderFailure } from '../providers/failures.js'
import { tokenTypeName } from '../providers/token-type.js'
import { callbackUrl } from '../urls/public.js'
import { digest, verifierContext, type FlowError } from './authorization.js'
import type { Confirmations } from './confirmations.js'
import type { Grant, GrantStore } from './grants.js'
import { markProviderCredentials, withClientSecretRotation } from './provider-credentials.js'
import { refreshTokenExpiresIn } from './refresh-policy.js'

/** `pending`: a confirmed flow's grant waits for POST /authorizations/confirm. */
export type FlowOutcome = 'connected' | 'pending' | FlowError

export interface CallbackResult {
  outcome: FlowOutcome
  /** Where to send the browser; null: show a page. */
  returnTo: string | null
  /** The flow whose cookie to clear. */
  authorizationId?: string
  connectionId?: string
  /** The one-time result of a pending flow, for returnTo. */
  result?: string
}

export interface CallbackInput {
  /** The provider id in the callback's path. */
  providerId: string
  /** The callback's query string exactly as received, without `?`. */
  rawQuery: string
  /** The verified value of a flow's cookie in this browser, if it sent one. */
  bindingFor(authorizationId: string): string | undefined
}

type CallbackDeps = Pick<Deps, 'db' | 'keyring' | 'providers' | 'config' | 'now' | 'log' | 'metrics'>
type StartedRequest = AuthorizationRequest & { provider: Provider }

// Provider errors that mean the user (or the provider on the user's behalf) said no.
const REFUSALS = new Set(['access_denied', 'consent_required', 'login_required', 'interaction_required'])

interface Stores {
  grants: Pick<GrantStore, 'store' | 'refusesAccount' | 'release'>
  confirmations: Pick<Confirmations, 'park'>
}

/** The second half of the flow: the callback, which exchanges the code and stores (or parks) the grant. */
export function createCallbackService(deps: CallbackDeps, stores: Stores) {
  return {
    async complete(input: CallbackInput): Promise<CallbackResult> {
      const result = await handleCallback(deps, stores, input)
      deps.metrics.flows.inc({ outcome: result.outcome })
      return result
    },
  }
}

export type CallbackService = ReturnType<typeof createCallbackService>

async function handleCallback(deps: CallbackDeps, stores: Stores, { providerId, rawQuery, bindingFor }: CallbackInput) {
  const { prisma } = deps.db
  const query = new URLSearchParams(rawQuery)
  const state = query.get('state')
  if (!state || state.length > 1024) return { outcome: 'invalid_state', returnTo: null } satisfies CallbackResult
  const request = await prisma.authorizationRequest.findUnique({
    where: { stateHash: digest(state) },
    include: { provider: true, client: { select: { revokedAt: true } } },
  })
  if (!request) return { outcome: 'invalid_state', returnTo: null } satisfies CallbackResult

  const end = (outcome: FlowOutcome): CallbackResult => ({
    outcome,
    returnTo: request.returnTo,
    authorizationId: request.id,
  })
  // Another browser (a leaked or planted callback URL): refused, and the real flow is left to finish.
  if (!sameSecret(bindingFor(request.id), request.bindingHash)) return end('invalid_state')

  const now = deps.now()
  const fail = async (outcome: FlowError): Promise<CallbackResult> => {
    // a concurrent callback that already took the request decides the flow's outcome, not this one
    const taken = await settle(deps, request.id, 'started', outcome, now)
    return end(taken ? outcome : 'invalid_state')
  }
  // Mix-up: the state was issued for another provider than the one whose callback this is.
  if (request.providerId !== providerId) return fail('invalid_state')
  if (request.status !== 'started') return end('invalid_state')
  if (request.expiresAt <= now) return fail('expired')
  // a caller revoked since it issued the link can no longer complete it
  if (request.client.revokedAt) return fail('invalid_state')
  const error = query.get('error')
  if (error !== null) {
    deps.log.info({ provider: providerId, providerError: safeOAuthCode(error) }, 'provider refused the authorization')
    return fail(REFUSALS.has(error) ? 'access_denied' : 'exchange_failed')
  }
  if (!query.get('code')) return fail('exchange_failed')

  // Exactly one callback gets to exchange the code.
  const claimed = await prisma.authorizationRequest.updateMany({
    where: { id: request.id, status: 'started' },
    data: { status: 'exchanging' },
  })
  if (claimed.count !== 1) return end('invalid_state')

  const granted = await exchange(deps, request, rawQuery, state)
  if ('failure' in granted) {
    await settle(deps, request.id, 'exchanging', 'exchange_failed', deps.now())
    // our client credentials were refused: flag the provider for operators (the user's flow just failed)
    if (granted.failure.kind === 'invalid_client') {
      await markProviderCredentials(deps.db, providerId, granted.failure.message, 'system', deps.now())
    }
    return end('exchange_failed')
  }
  const { grants, confirmations } = stores
  const refuse = async (outcome: FlowError): Promise<CallbackResult> => {
    await grants.release(request.provider, granted, outcome)
    await settle(deps, request.id, 'exchanging', outcome, deps.now())
    return end(outcome)
  }
  if (request.confirm) {
    if (await grants.refusesAccount(request, granted.subject)) return refuse('account_mismatch')
    const result = await confirmations.park(request.id, granted)
    return result ? { ...end('pending'), result } : end('invalid_state')
  }
  const stored = await grants.store(request, granted, 'exchanging')
  if (stored.kind === 'account_mismatch') return refuse('account_mismatch')
  if (stored.kind !== 'stored') return end('invalid_state')
  return { ...end('connected'), connectionId: stored.connectionId }
}

/** The token request. Failures are logged by kind and code only: error causes can carry the token response. */
async function exchange(
  deps: CallbackDeps,
  request: StartedRequest,
  rawQuery: string,
  state: string,
): Promise<Grant | { failure: ProviderFailure }> {
  const { provider } = request
  const dialect = deps.providers.dialectFor(provider)
  try {
    // redirect_uri is derived from this URL: built from PUBLIC_URL, never from the Host header
    const currentUrl = callbackUrl(deps.config.PUBLIC_URL, provider.id)
    currentUrl.search = rawQuery
    const verifier = request.codeVerifierEnc
      ? deps.keyring.decrypt(request.codeVerifierEnc, verifierContext(request.id))
      : undefined
    // a client authentication refused is checked before the code: the next client secret may still redeem it
    const response = await withClientSecretRotation(deps, provider, (config) =>
      client.authorizationCodeGrant(
        config,
        currentUrl,
        {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: request.nonce ?? undefined,
          idTokenExpected: Boolean(provider.issuer && request.nonce),
        },
        dialect.tokenParams,
      ),
    )
    return {
      tokens: {
        accessToken: new Secret(response.access_token),
        ...(response.refresh_token ? { refreshToken: new Secret(response.refresh_token) } : {}),
        tokenType: tokenTypeName(response.token_type),
        // RFC 6749 §5.1: a response without scope granted the scope requested
        scope: response.scope ?? (request.scopes.length > 0 ? request.scopes.join(' ') : undefined),
        // the lifetime as granted: expiresIn() would already have counted down the time since the answer
        expiresIn: response.expires_in,
        ...refreshTokenLifetimeOf(response),
      },
      subject: response.claims()?.sub ?? subjectOf(response, dialect),
      metadata: metadataOf(response, dialect, new URLSearchParams(rawQuery)),
    }
  } catch (err) {
    const failure = classifyProviderError(err)
    deps.log.warn(
      {
        provider: provider.id,
        url: provider.tokenEndpoint ?? provider.issuer,
        failure: failure.kind,
        errorCode: failure.code,
        reason: failure.message,
      },
      `code exchange failed: ${failure.message}`,
    )
    return { failure }
  }
}

async function settle(deps: Pick<Deps, 'db'>, id: string, from: string, outcome: FlowError, now: Date) {
  const { count } = await deps.db.prisma.authorizationRequest.updateMany({
    where: { id, status: from },
    data: { status: 'failed', outcome, completedAt: now, codeVerifierEnc: null },
  })
  return count === 1
}

function sameSecret(given: string | undefined, storedHash: Uint8Array | null): boolean {
  if (given === undefined || storedHash === null || storedHash.length !== 32) return false
  return timingSafeEqual(digest(given), storedHash)
}

function refreshTokenLifetimeOf(response: Record<string, unknown>): { refreshTokenExpiresIn?: number } {
  const seconds = refreshTokenExpiresIn(response)
  return seconds === undefined ? {} : { refreshTokenExpiresIn: seconds }
}
