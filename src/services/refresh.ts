import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import * as client from 'openid-client'
import type { Deps } from '../app.js'
import { Secret } from '../crypto/secret.js'
import { findLeased, releaseLease, takeLease, type ConnectionWithProvider } from '../db/connection-leases.js'
import type { Connection } from '../db/generated/client.js'
import { classifyProviderError, type ProviderFailure } from '../providers/failures.js'
import { recordAudit, type Actor } from './audit.js'
import { openRefreshToken, sealTokens } from './connection-tokens.js'
import { markProviderCredentials } from './provider-credentials.js'
import { nextRefreshAt, tokenLifetime } from './refresh-policy.js'
import { backoffSeconds, satisfies, shouldRefresh, type RefreshNeed } from './refresh-rules.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'

export type RefreshTrigger = 'scheduler' | 'on_demand' | 'admin'

/** Consecutive failures after which `connection.refresh_failed` is sent (once); `connection.recovered` follows it. */
export const FAILURES_BEFORE_NOTICE = 3

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

export interface RefreshRequest {
  need: RefreshNeed
  trigger: RefreshTrigger
  actor: Actor
  /** A lease the caller already holds on the connection (the scheduler's claim). */
  leaseOwner?: string
  /** How long to wait while another instance holds the lease (0: answer `busy` at once). */
  waitMs?: number
}

export interface RefreshServiceOptions {
  /** How long a lease lasts: longer than the slowest provider call (discovery plus grant) can take. */
  leaseSeconds: number
  /** Told about every stored change, so a cache can forget the connection. */
  onChange?: (connection: { providerId: string; userId: string }) => void
}

type RefreshDeps = Pick<Deps, 'prisma' | 'keyring' | 'providers' | 'metrics' | 'now' | 'instanceId' | 'log' | 'config'>

class LeaseLostError extends Error {}

const POLL_MS = 100
const STORE_ATTEMPTS = 3

/**
 * Refreshes connections: one refresh per connection in this process (callers join the one in flight), one
 * across instances (a lease in Postgres, re-read once taken), the provider called outside any transaction,
 * the outcome stored with the lease released in one owner-checked transaction.
 */
export function createRefreshService(deps: RefreshDeps, options: RefreshServiceOptions) {
  const { prisma, keyring, metrics, log } = deps
  const inFlight = new Map<string, Promise<RefreshResult>>()
  const leaseMs = options.leaseSeconds * 1000

  const newOwner = () => `${deps.instanceId}/${randomBytes(6).toString('base64url')}`
  const leaseTerms = (owner: string) => {
    const now = deps.now()
    return { owner, now, until: new Date(now.getTime() + leaseMs) }
  }

  function refresh(id: string, request: RefreshRequest): Promise<RefreshResult> {
    const running = inFlight.get(id)
    if (running) return running
    const started = run(id, request).finally(() => inFlight.delete(id))
    inFlight.set(id, started)
    return started
  }

  async function run(id: string, request: RefreshRequest): Promise<RefreshResult> {
    if (request.leaseOwner) {
      const row = await findLeased(prisma, id, request.leaseOwner)
      return row ? refreshUnderLease(row, request.leaseOwner, request) : { kind: 'lease_lost' }
    }
    const askedAt = deps.now()
    const deadline = Date.now() + (request.waitMs ?? 0)
    for (;;) {
      const owner = newOwner()
      const leased = await takeLease(prisma, id, leaseTerms(owner))
      if (leased) return refreshUnderLease(leased, owner, request)
      // another instance holds the lease: wait for its outcome instead of refreshing again
      const row = await prisma.connection.findUnique({ where: { id } })
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
      if (Date.now() >= deadline) return { kind: 'busy' }
      await sleep(POLL_MS)
    }
  }

  async function refreshUnderLease(
    row: ConnectionWithProvider,
    owner: string,
    request: RefreshRequest,
  ): Promise<RefreshResult> {
    const decision = shouldRefresh(row, deps.now(), request.need)
    if (!decision.should) {
      await releaseLease(prisma, row.id, owner)
      const connection = withoutLease(row)
      if (decision.reason === 'not_active') return { kind: 'reauthorization_required', connection }
      if (decision.reason === 'no_refresh_token') return { kind: 'no_refresh_token', connection }
      return { kind: 'fresh', connection }
    }
    log.debug({ connectionId: row.id, reason: decision.reason, trigger: request.trigger }, 'refreshing')
    const refreshToken = openRefreshToken(keyring, row) as Secret
    const stopTimer = metrics.refreshDuration.startTimer()
    let response: client.TokenEndpointResponse | undefined
    let failure: ProviderFailure | undefined
    try {
      const config = await deps.providers.configFor(row.provider)
      response = await client.refreshTokenGrant(config, refreshToken.reveal())
    } catch (err) {
      failure = classifyProviderError(err)
    } finally {
      stopTimer()
    }
    // The provider may have rotated the refresh token: nothing happens between its answer and this write.
    if (response) return storeSuccess(row, owner, response, request)
    return storeFailure(row, owner, failure ?? classifyProviderError(undefined), request)
  }

  async function storeSuccess(
    row: ConnectionWithProvider,
    owner: string,
    response: client.TokenEndpointResponse,
    request: RefreshRequest,
  ): Promise<RefreshResult> {
    const now = deps.now()
    const { provider } = row
    const lifetimeSeconds = tokenLifetime(response.expires_in, provider.defaultTokenLifetimeSeconds)
    const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
    const sealed = sealTokens(keyring, row.id, {
      accessToken: new Secret(response.access_token),
      refreshToken: response.refresh_token ? new Secret(response.refresh_token) : undefined,
      tokenType: response.token_type,
    })
    const timing = {
      expiresAt,
      lifetimeSeconds,
      hasRefreshToken: Boolean(sealed.refreshTokenEnc ?? row.refreshTokenEnc),
      providerMarginSeconds: provider.refreshMarginSeconds,
    }
    const result = await storeUnderLease(request, 'success', () =>
      prisma.$transaction(async (tx) => {
        const [saved] = await tx.connection.updateManyAndReturn({
          where: { id: row.id, leaseOwner: owner },
          data: {
            accessTokenEnc: sealed.accessTokenEnc,
            // a response without refresh_token keeps the stored one
            ...(sealed.refreshTokenEnc ? { refreshTokenEnc: sealed.refreshTokenEnc } : {}),
            tokenType: displayTokenType(response.token_type),
            scope: response.scope ?? row.scope,
            expiresAt,
            lifetimeSeconds,
            nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
            lastRefreshedAt: now,
            failureCount: 0,
            lastError: null,
            lastErrorAt: null,
            leaseOwner: null,
            leaseExpiresAt: null,
            version: { increment: 1 },
          },
        })
        if (!saved) throw new LeaseLostError()
        await recordAudit(tx, {
          actor: request.actor,
          action: 'connection.refreshed',
          subjectType: 'connection',
          subjectId: row.id,
          providerId: row.providerId,
          userId: row.userId,
          detail: {
            trigger: request.trigger,
            rotated: sealed.refreshTokenEnc !== undefined,
            lifetimeSeconds,
            expiresInGiven: response.expires_in !== undefined,
          },
        })
        if (row.failureCount >= FAILURES_BEFORE_NOTICE) {
          await emitConnectionEvent(tx, event(saved, 'connection.recovered', { failures: row.failureCount }), now)
        }
        if (provider.credentialsStatus !== 'ok')
          await markProviderCredentials(tx, provider.id, null, request.actor, now)
        return saved
      }),
    )
    if (!result) return { kind: 'lease_lost' }
    options.onChange?.(row)
    return { kind: 'refreshed', connection: result }
  }

  async function storeFailure(
    row: ConnectionWithProvider,
    owner: string,
    failure: ProviderFailure,
    request: RefreshRequest,
  ): Promise<RefreshResult> {
    const now = deps.now()
    const failureCount = row.failureCount + 1
    const reauthorize = failure.kind === 'invalid_grant'
    const delay = reauthorize
      ? null
      : backoffSeconds(
          failureCount,
          failure.kind === 'transient' ? { retryAfterSeconds: failure.retryAfterSeconds } : {},
        )
    const retryAt = delay === null ? null : new Date(now.getTime() + delay * 1000)
    log.warn(
      { connectionId: row.id, provider: row.providerId, trigger: request.trigger, failure: failure.kind, failureCount },
      `refresh failed: ${failure.message}`,
    )
    const result = await storeUnderLease(request, failure.kind, () =>
      prisma.$transaction(async (tx) => {
        const [saved] = await tx.connection.updateManyAndReturn({
          where: { id: row.id, leaseOwner: owner },
          data: {
            ...(reauthorize ? { status: 'reauthorization_required' } : {}),
            nextRefreshAt: retryAt,
            failureCount,
            lastError: failure.message,
            lastErrorAt: now,
            leaseOwner: null,
            leaseExpiresAt: null,
          },
        })
        if (!saved) throw new LeaseLostError()
        const detail = { trigger: request.trigger, failure: failure.kind, error: failure.message, failureCount }
        await recordAudit(tx, {
          actor: request.actor,
          action: reauthorize ? 'connection.reauthorization_required' : 'connection.refresh_failed',
          subjectType: 'connection',
          subjectId: row.id,
          providerId: row.providerId,
          userId: row.userId,
          detail: delay === null ? detail : { ...detail, retryInSeconds: delay },
        })
        if (reauthorize) {
          await emitConnectionEvent(
            tx,
            event(saved, 'connection.reauthorization_required', { reason: failure.kind }),
            now,
          )
        } else if (failureCount === FAILURES_BEFORE_NOTICE) {
          await emitConnectionEvent(
            tx,
            event(saved, 'connection.refresh_failed', { failure: failure.kind, failureCount }),
            now,
          )
        }
        if (failure.kind === 'invalid_client') {
          await markProviderCredentials(tx, row.providerId, failure.message, request.actor, now)
        }
        return saved
      }),
    )
    if (!result) return { kind: 'lease_lost' }
    options.onChange?.(row)
    if (reauthorize) return { kind: 'reauthorization_required', connection: result }
    return { kind: 'failed', message: failure.message, retryAt, connection: result }
  }

  /** Runs an owner-checked store, retrying a failing database briefly: the provider's answer exists only here. */
  async function storeUnderLease<T>(
    request: RefreshRequest,
    outcome: string,
    store: () => Promise<T>,
  ): Promise<T | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await store()
        metrics.refreshes.inc({ trigger: request.trigger, outcome })
        return stored
      } catch (err) {
        if (err instanceof LeaseLostError) {
          metrics.refreshes.inc({ trigger: request.trigger, outcome: 'lease_lost' })
          log.error({ outcome }, 'refresh outcome not stored: the lease was taken over')
          return null
        }
        if (attempt >= STORE_ATTEMPTS) throw err
        log.warn({ err, attempt }, 'storing a refresh outcome failed; retrying')
        await sleep(200 * attempt)
      }
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

function event(
  connection: Connection,
  type: Parameters<typeof emitConnectionEvent>[1]['type'],
  detail: Record<string, string | number>,
) {
  return {
    type,
    connectionId: connection.id,
    providerId: connection.providerId,
    userId: connection.userId,
    status: connection.status,
    detail,
  }
}

/** openid-client lowercases token_type; callers put it in an Authorization header, where `Bearer` is usual. */
export function displayTokenType(tokenType: string): string {
  const lower = tokenType.toLowerCase()
  return lower === 'bearer' ? 'Bearer' : lower === 'dpop' ? 'DPoP' : tokenType
}
