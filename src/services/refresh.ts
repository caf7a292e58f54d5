import * as client from 'openid-client'
import type { Secret } from '../crypto/secret.js'
import type { Actor } from '../db/audit.js'
import {
  findConnection,
  releaseLease,
  takeLeaseOrWait,
  type ConnectionKey,
  type ConnectionWithProvider,
} from '../db/connections/index.js'
import type { Connection } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { BrokerError, notFound, providerUnavailable, reauthorizationRequired } from '../errors.js'
import type { ProviderCircuits } from '../providers/circuits.js'
import { requestClientCredentials } from '../providers/client-credentials.js'
import { classifyProviderError, type ProviderFailure } from '../providers/failures.js'
import { openRefreshToken } from './connection-tokens.js'
import { withClientSecretRotation } from './provider-credentials.js'
import { createRefreshOutcomes, LeaseLostError, type LeaseHold, type RefreshTrigger } from './refresh-store.js'
import { backoffSeconds, satisfies, shouldRefresh, type RefreshNeed } from './refresh-rules.js'
import { storeWithPatience } from './store-patience.js'

export { FAILURES_BEFORE_NOTICE, type RefreshTrigger } from './refresh-store.js'

export type RefreshResult =
  | { kind: 'refreshed'; connection: Connection }
  /** The need is met without a call: another process refreshed first, or nothing was due. */
  | { kind: 'fresh'; connection: Connection }
  | { kind: 'reauthorization_required'; connection: Connection }
  | { kind: 'no_refresh_token'; connection: Connection }
  | { kind: 'failed'; message: string; retryAt: Date | null; connection: Connection }
  /** Another instance held the lease for longer than the wait. */
  | { kind: 'busy' }
  | { kind: 'not_found' }
  /** Our lease was taken over before we could store; what we got from the provider is gone. */
  | { kind: 'lease_lost' }

/**
 * What a caller of a refresh is told when it did not end with a usable token: the one mapping of refresh outcomes to
 * errors, for GET /tokens and the admin's refresh alike. Undefined when the connection holds a token now.
 */
export function refreshError(result: RefreshResult, now: Date): BrokerError | undefined {
  switch (result.kind) {
    case 'refreshed':
    case 'fresh':
      return undefined
    case 'reauthorization_required':
      return reauthorizationRequired()
    case 'no_refresh_token':
      return reauthorizationRequired('the access token expires and there is no refresh token to renew it')
    case 'failed':
      return providerUnavailable(
        `refresh failed: ${result.message}`,
        result.retryAt ? Math.ceil((result.retryAt.getTime() - now.getTime()) / 1000) : undefined,
      )
    case 'busy':
      return providerUnavailable('another instance is refreshing this connection; try again', 1)
    case 'lease_lost':
      return providerUnavailable('the refresh could not be stored; try again', 1)
    case 'not_found':
      return notFound('connection')
  }
}

export interface RefreshRequest {
  need: RefreshNeed
  trigger: RefreshTrigger
  actor: Actor
  /** The scheduler's claim: the row as its lease took it, with its provider, and the lease's owner. */
  claimed?: { row: ConnectionWithProvider; owner: string }
  /** How long to wait while another instance holds the lease (0: answer `busy` at once). */
  waitMs?: number
}

export interface RefreshServiceOptions {
  /** Told about every stored change, so a cache can forget the connection. */
  onChange?: (connection: ConnectionKey) => void
  /** Told what each call to a provider showed: a failure counts towards opening its circuit, an answer closes it. */
  circuits?: ProviderCircuits
}

type RefreshDeps = Pick<
  Deps,
  'db' | 'keyring' | 'providers' | 'metrics' | 'now' | 'instanceId' | 'log' | 'config' | 'timing'
>

/**
 * Refreshes connections: one refresh per connection in this process (callers join the one in flight), one
 * across instances (a lease in Postgres, re-read once taken), the provider called outside any transaction,
 * the outcome stored with the lease released in one owner-checked transaction.
 */
export function createRefreshService(deps: RefreshDeps, options: RefreshServiceOptions = {}) {
  const { db, keyring, metrics, log } = deps
  const inFlight = new Map<string, Promise<RefreshResult>>()
  const outcomes = createRefreshOutcomes(deps, { inFlight: () => inFlight.size })
  const leasePolicy = { instanceId: deps.instanceId, now: deps.now, leaseSeconds: deps.timing.leaseSeconds }

  function refresh(id: string, request: RefreshRequest): Promise<RefreshResult> {
    const running = inFlight.get(id)
    if (running) {
      // The scheduler claimed the row while a request of this process was about to lease it: that request now
      // waits for the scheduler's lease, which nobody would use. Hand the lease over instead of joining a deadlock.
      if (request.claimed) return releaseLease(db, id, request.claimed.owner).then(() => running)
      return running
    }
    const started = run(id, request).finally(() => inFlight.delete(id))
    inFlight.set(id, started)
    return started
  }

  async function run(id: string, request: RefreshRequest): Promise<RefreshResult> {
    if (request.claimed) return refreshUnderLease(request.claimed.row, request.claimed.owner, request)
    const askedAt = deps.now()
    const taken = await takeLeaseOrWait<RefreshResult>(db, id, leasePolicy, {
      waitMs: request.waitMs ?? 0,
      // another instance holds the lease: wait for its outcome instead of refreshing again
      whileHeld: async () => {
        const row = await findConnection(db, id)
        if (!row) return { kind: 'not_found' }
        if (row.status !== 'active') return { kind: 'reauthorization_required', connection: row }
        if (satisfies(row, deps.now(), request.need)) return { kind: 'fresh', connection: row }
        if (row.lastErrorAt && row.lastErrorAt >= askedAt) {
          return {
            kind: 'failed',
            message: row.lastError ?? 'refresh failed',
            retryAt: row.nextRefreshAt,
            connection: row,
          }
        }
        return undefined
      },
    })
    if (taken.kind === 'settled') return taken.value
    if (taken.kind === 'timed_out') return { kind: 'busy' }
    return refreshUnderLease(taken.row, taken.owner, request)
  }

  async function refreshUnderLease(
    row: ConnectionWithProvider,
    owner: string,
    request: RefreshRequest,
  ): Promise<RefreshResult> {
    const decision = shouldRefresh(row, deps.now(), request.need)
    if (!decision.should) {
      await releaseLease(db, row.id, owner)
      const connection = withoutLease(row)
      switch (decision.reason) {
        case 'not_active':
          return { kind: 'reauthorization_required', connection }
        case 'no_refresh_token':
          return { kind: 'no_refresh_token', connection }
        case 'in_backoff':
          return { kind: 'failed', message: row.lastError ?? 'refresh failed', retryAt: row.nextRefreshAt, connection }
        default:
          return { kind: 'fresh', connection }
      }
    }
    log.debug({ connectionId: row.id, reason: decision.reason, trigger: request.trigger }, 'refreshing')
    const stopTimer = metrics.refreshDuration.startTimer()
    let response: client.TokenEndpointResponse | undefined
    let failure: ProviderFailure | undefined
    options.circuits?.started(row.providerId)
    try {
      response = await renew(row)
    } catch (err) {
      failure = classifyProviderError(err)
    } finally {
      stopTimer()
    }
    // new tokens, or the grant refused, are an answer; anything else (down, slow, refusing our client) a failure
    if (failure && failure.kind !== 'invalid_grant') options.circuits?.failed(row.providerId)
    else options.circuits?.succeeded(row.providerId)
    // The provider may have rotated the refresh token: nothing happens between its answer and this write.
    const hold: LeaseHold = { row, owner, trigger: request.trigger, actor: request.actor }
    if (response) return storeSuccess(hold, response)
    return storeFailure(hold, failure ?? classifyProviderError(undefined))
  }

  /** A machine connection asks for a new token with its client's credentials; any other uses its refresh token. */
  /** The grant that renews the row, with each of the provider's client secrets in turn on invalid_client. */
  async function renew(row: ConnectionWithProvider): Promise<client.TokenEndpointResponse> {
    if (row.grantType === 'client_credentials') {
      return withClientSecretRotation(deps, row.provider, (config) =>
        requestClientCredentials(deps.providers, row.provider, row.requestedScopes, config),
      )
    }
    const refreshToken = openRefreshToken(keyring, row) as Secret
    const { refreshParams } = deps.providers.dialectFor(row.provider)
    return withClientSecretRotation(deps, row.provider, (config) =>
      client.refreshTokenGrant(config, refreshToken.reveal(), refreshParams),
    )
  }

  async function storeSuccess(hold: LeaseHold, response: client.TokenEndpointResponse): Promise<RefreshResult> {
    const now = deps.now()
    const saved = await storeUnderLease(hold.trigger, 'success', () => outcomes.succeeded(hold, response, now))
    if (!saved) return { kind: 'lease_lost' }
    options.onChange?.(saved)
    return { kind: 'refreshed', connection: saved }
  }

  async function storeFailure(hold: LeaseHold, failure: ProviderFailure): Promise<RefreshResult> {
    const { row, trigger } = hold
    const now = deps.now()
    const failureCount = row.failureCount + 1
    const retryAfterSeconds = failure.kind === 'transient' ? failure.retryAfterSeconds : undefined
    const retryAt =
      failure.kind === 'invalid_grant'
        ? null
        : new Date(now.getTime() + backoffSeconds(failureCount, { retryAfterSeconds }) * 1000)
    log.warn(
      {
        connectionId: row.id,
        provider: row.providerId,
        url: row.provider.tokenEndpoint ?? row.provider.issuer,
        trigger,
        failure: failure.kind,
        errorCode: failure.code,
        failureCount,
      },
      `refresh failed: ${failure.message}`,
    )
    const saved = await storeUnderLease(trigger, failure.kind, () => outcomes.failed(hold, failure, { now, retryAt }))
    if (!saved) return { kind: 'lease_lost' }
    options.onChange?.(saved)
    if (saved.status !== 'active') return { kind: 'reauthorization_required', connection: saved }
    return { kind: 'failed', message: failure.message, retryAt, connection: saved }
  }

  /**
   * Runs an owner-checked store, retrying a failing database: the provider's answer exists only here. An unreachable
   * database (a restart, a failover) is waited for up to STORE_PATIENCE_MS; other errors are retried briefly.
   */
  async function storeUnderLease<T>(
    trigger: RefreshTrigger,
    outcome: string,
    store: () => Promise<T>,
  ): Promise<T | null> {
    try {
      // the lease may expire meanwhile: the write still checks it is ours, and while the database is down no other
      // instance can take it, so retrying often gets the new tokens stored first once it is back
      const stored = await storeWithPatience(store, {
        log,
        what: 'storing a refresh outcome',
        final: (err) => err instanceof LeaseLostError,
      })
      metrics.refreshes.inc({ trigger, outcome })
      return stored
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err
      metrics.refreshes.inc({ trigger, outcome: 'lease_lost' })
      log.error({ outcome }, 'refresh outcome not stored: the lease was taken over')
      return null
    }
  }

  return {
    refresh,
    /** Resolves once every refresh in flight in this process has finished. */
    async drain(): Promise<void> {
      await Promise.allSettled([...inFlight.values()])
    },
    get inFlight(): number {
      return inFlight.size
    },
  }
}

export type RefreshService = ReturnType<typeof createRefreshService>

function withoutLease(row: ConnectionWithProvider): Connection {
  const { provider: _provider, ...connection } = row
  return { ...connection, leaseOwner: null, leaseExpiresAt: null }
}
