// Storing what a flow obtained as the connection of (namespace, provider, user), with the checks that guard it: the
// account at the provider must stay the same unless the flow allowed a change, and a grant nobody will hold (an
// account refused, replaced, never confirmed) is revoked at the provider rather than left behind.
import { randomUUID } from 'node:crypto'
import { recordAudit } from '../db/audit.js'
import type { Db } from '../db/client.js'
import {
  findConnectionSubject,
  insertConnection,
  lockConnection,
  replaceConnectionTokens,
  type ConnectionKey,
  type GrantedFields,
  type LockedConnection,
} from '../db/connections/index.js'
import { isUniqueViolation } from '../db/errors.js'
import type { Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { revokeAtProvider } from '../providers/revocation.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { openAccessToken, openRefreshToken, sealTokens, type GrantedTokens } from './connection-tokens.js'
import { markProviderCredentials } from './provider-credentials.js'
import { nextRefreshAt, refreshTokenExpiry, tokenLifetime } from './refresh-policy.js'

/** What a flow obtained: the tokens, and the account they are for (null when the provider does not say). */
export interface Grant {
  tokens: GrantedTokens
  /** The ID token's `sub`, for OpenID Connect providers, or the account id where the template says it is. */
  subject: string | null
  /** Non-secret fields the template keeps from the token response and the callback. */
  metadata: Record<string, string>
}

/** The authorization request a grant completes. */
export interface FlowRequest {
  id: string
  namespace: string
  userId: string
  clientId: string
  allowAccountChange: boolean
  provider: Provider
}

export type StoreResult =
  | {
      kind: 'stored'
      connectionId: string
      replaced: boolean
      accountChanged: boolean
      expiresAt: Date
      scope: string | null
    }
  /** The connection belongs to another account at the provider and the flow did not allow a change: nothing stored. */
  | { kind: 'account_mismatch' }
  /** The authorization request is no longer in the state this completion started from. */
  | { kind: 'request_settled' }

class NotStored extends Error {
  constructor(readonly result: Exclude<StoreResult, { kind: 'stored' }>) {
    super(result.kind)
  }
}

const keyOf = (request: FlowRequest): ConnectionKey => ({
  namespace: request.namespace,
  providerId: request.provider.id,
  userId: request.userId,
})

/** Another account than the one the connection holds; unknown accounts (either side) are never a change. */
const otherAccount = (stored: string | null | undefined, given: string | null) =>
  typeof stored === 'string' && given !== null && stored !== given

export function createGrantStore(
  deps: Pick<Deps, 'db' | 'keyring' | 'config' | 'now' | 'providers' | 'log'>,
  options: { onChange?: (connection: ConnectionKey) => void } = {},
) {
  const { db, keyring, log } = deps

  async function write(tx: Db, request: FlowRequest, { tokens, subject, metadata }: Grant, from: string) {
    const now = deps.now()
    const { provider } = request
    const key = keyOf(request)
    const existing = await lockConnection(tx, key)
    const accountChanged = otherAccount(existing?.subject, subject)
    if (accountChanged && !request.allowAccountChange) throw new NotStored({ kind: 'account_mismatch' })
    const id = existing?.id ?? randomUUID()
    // A provider may grant no new refresh token on a repeat consent while the old one stays valid (Google does):
    // keep it, but only for the same account at the provider and a connection not known to be broken.
    const keepRefreshToken =
      !tokens.refreshToken &&
      existing !== undefined &&
      existing.refreshTokenEnc !== null &&
      existing.status === 'active' &&
      existing.subject !== null &&
      existing.subject === subject
    const sealed = sealTokens(keyring, id, tokens)
    const lifetimeSeconds = tokenLifetime(tokens.expiresIn, provider.defaultTokenLifetimeSeconds)
    const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
    const timing = {
      expiresAt,
      lifetimeSeconds,
      hasRefreshToken: Boolean(tokens.refreshToken) || keepRefreshToken,
      providerMarginSeconds: provider.refreshMarginSeconds,
    }
    const scope = tokens.scope ?? null
    const refreshTokenExpiresAt = tokens.refreshToken
      ? refreshTokenExpiry(now, tokens.refreshTokenExpiresIn, provider.refreshTokenLifetimeSeconds)
      : null
    const fields: GrantedFields = {
      status: 'active',
      subject,
      accessTokenEnc: sealed.accessTokenEnc,
      // a kept refresh token keeps its expiry, and whether it was warned of
      ...(keepRefreshToken
        ? {}
        : { refreshTokenEnc: sealed.refreshTokenEnc ?? null, refreshTokenExpiresAt, expiryWarnedAt: null }),
      tokenType: tokens.tokenType,
      scope,
      metadata,
      expiresAt,
      lifetimeSeconds,
      nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
    }
    if (existing) await replaceConnectionTokens(tx, id, fields)
    else await insertConnection(tx, { id, key, createdByClientId: request.clientId, fields })

    const replaced = existing !== undefined
    await recordAudit(tx, {
      actor: 'user',
      action: 'connection.created',
      subjectType: 'connection',
      subjectId: id,
      ...key,
      detail: {
        clientId: request.clientId,
        replaced,
        accountChanged,
        ...(existing ? { previousStatus: existing.status } : {}),
        hasRefreshToken: timing.hasRefreshToken,
        scope,
      },
    })
    await emitConnectionEvent(
      tx,
      { type: 'connection.created', connectionId: id, ...key, status: 'active', detail: { replaced, accountChanged } },
      now,
    )
    // the provider accepted our client credentials: clear a flag an earlier refusal may have set
    await markProviderCredentials(tx, provider.id, null, 'system', now)
    const completed = await tx.prisma.authorizationRequest.updateMany({
      where: { id: request.id, status: from },
      data: {
        status: 'completed',
        outcome: 'connected',
        completedAt: now,
        codeVerifierEnc: null,
        pendingGrantEnc: null,
      },
    })
    if (completed.count !== 1) throw new NotStored({ kind: 'request_settled' })
    return {
      connectionId: id,
      replaced,
      accountChanged,
      expiresAt,
      scope,
      previous: accountChanged ? existing : undefined,
    }
  }

  /** Revokes the previous account's grant once the new one is stored; recorded, never in the way of the flow. */
  async function revokePrevious(request: FlowRequest, connectionId: string, previous: LockedConnection): Promise<void> {
    const row = { ...previous, id: connectionId }
    const revocation = await revokeAtProvider(deps.providers, request.provider, {
      refreshToken: openRefreshToken(keyring, row)?.reveal(),
      accessToken: openAccessToken(keyring, row).reveal(),
    })
    if (revocation.outcome === 'failed')
      log.warn({ connectionId }, `revoking the previous account's grant failed: ${revocation.error}`)
    await recordAudit(db, {
      actor: 'system',
      action: 'connection.previous_grant_revoked',
      subjectType: 'connection',
      subjectId: connectionId,
      ...keyOf(request),
      detail: { revocation: revocation.outcome, ...(revocation.error ? { error: revocation.error } : {}) },
    })
  }

  return {
    /**
     * Stores the grant as the connection, in one transaction with its audit entry, its webhook event and the
     * completion of the authorization request (which must still be in state `from`). A repeat consent replaces the
     * tokens of the existing row (locked, same id, state reset).
     */
    async store(request: FlowRequest, grant: Grant, from: string): Promise<StoreResult> {
      for (let attempt = 1; ; attempt++) {
        try {
          const { previous, ...stored } = await db.transaction((tx) => write(tx, request, grant, from))
          options.onChange?.(keyOf(request))
          if (previous) await revokePrevious(request, stored.connectionId, previous)
          return { kind: 'stored', ...stored }
        } catch (err) {
          if (err instanceof NotStored) return err.result
          // two flows of the same user created the row at the same moment: the retry finds and locks it
          if (attempt < 3 && isUniqueViolation(err)) continue
          throw err
        }
      }
    },

    /** Whether storing this account would be refused: for flows that confirm before they store. */
    async refusesAccount(request: FlowRequest, subject: string | null): Promise<boolean> {
      if (request.allowAccountChange) return false
      return otherAccount(await findConnectionSubject(db, keyOf(request)), subject)
    },

    /** Revokes a grant the broker will not keep (best effort: a failure is logged by its code). */
    async release(provider: Provider, { tokens }: Grant, reason: string): Promise<void> {
      const revocation = await revokeAtProvider(deps.providers, provider, {
        refreshToken: tokens.refreshToken?.reveal(),
        accessToken: tokens.accessToken.reveal(),
      })
      if (revocation.outcome === 'failed')
        log.warn({ provider: provider.id, reason }, `revoking a grant failed: ${revocation.error}`)
    },
  }
}

export type GrantStore = ReturnType<typeof createGrantStore>
