import { randomUUID } from 'node:crypto'
import { recordAudit } from '../db/audit.js'
import type { Db } from '../db/client.js'
import {
  insertConnection,
  lockConnection,
  replaceConnectionTokens,
  type GrantedFields,
} from '../db/connections/index.js'
import { isUniqueViolation } from '../db/errors.js'
import type { Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { sealTokens, type GrantedTokens } from './connection-tokens.js'
import { markProviderCredentials } from './provider-credentials.js'
import { nextRefreshAt, tokenLifetime } from './refresh-policy.js'

export interface NewGrant {
  provider: Pick<Provider, 'id' | 'defaultTokenLifetimeSeconds' | 'refreshMarginSeconds'>
  userId: string
  tokens: GrantedTokens
  /** The ID token's `sub`, for OpenID Connect providers, or the account id where the template says it is. */
  subject: string | null
  /** Non-secret fields the template keeps from the token response and the callback. */
  metadata: Record<string, string>
  clientId: string
  authorizationId: string
}

/**
 * Stores the tokens of a completed flow as the connection of (provider, user), in one transaction with its audit
 * entry, its webhook event and the completion of the authorization request. A repeat consent replaces the
 * tokens of the existing row (locked, same id, state reset) rather than adding a second connection.
 */
export function createGrantStore(deps: Pick<Deps, 'db' | 'keyring' | 'config' | 'now'>) {
  async function write(tx: Db, { provider, userId, tokens, subject, metadata, clientId, authorizationId }: NewGrant) {
    const now = deps.now()
    const key = { providerId: provider.id, userId }
    const existing = await lockConnection(tx, key)
    const id = existing?.id ?? randomUUID()
    // A provider may grant no new refresh token on a repeat consent while the old one stays valid (Google does):
    // keep it, but only for the same account at the provider and a connection not known to be broken.
    const keepRefreshToken =
      !tokens.refreshToken &&
      existing !== undefined &&
      existing.hasRefreshToken &&
      existing.status === 'active' &&
      existing.subject !== null &&
      existing.subject === subject
    const sealed = sealTokens(deps.keyring, id, tokens)
    const lifetimeSeconds = tokenLifetime(tokens.expiresIn, provider.defaultTokenLifetimeSeconds)
    const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000)
    const timing = {
      expiresAt,
      lifetimeSeconds,
      hasRefreshToken: Boolean(tokens.refreshToken) || keepRefreshToken,
      providerMarginSeconds: provider.refreshMarginSeconds,
    }
    const fields: GrantedFields = {
      status: 'active',
      subject,
      accessTokenEnc: sealed.accessTokenEnc,
      ...(keepRefreshToken ? {} : { refreshTokenEnc: sealed.refreshTokenEnc ?? null }),
      tokenType: tokens.tokenType,
      scope: tokens.scope ?? null,
      metadata,
      expiresAt,
      lifetimeSeconds,
      nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
    }
    if (existing) await replaceConnectionTokens(tx, id, fields)
    else await insertConnection(tx, { id, key, createdByClientId: clientId, fields })

    const replaced = existing !== undefined
    await recordAudit(tx, {
      actor: 'user',
      action: 'connection.created',
      subjectType: 'connection',
      subjectId: id,
      providerId: provider.id,
      userId,
      detail: {
        clientId,
        replaced,
        ...(existing ? { previousStatus: existing.status } : {}),
        hasRefreshToken: timing.hasRefreshToken,
        scope: tokens.scope ?? null,
      },
    })
    await emitConnectionEvent(
      tx,
      {
        type: 'connection.created',
        connectionId: id,
        providerId: provider.id,
        userId,
        status: 'active',
        detail: { replaced },
      },
      now,
    )
    // the provider accepted our client credentials: clear a flag an earlier refusal may have set
    await markProviderCredentials(tx, provider.id, null, 'system', now)
    await tx.prisma.authorizationRequest.update({
      where: { id: authorizationId },
      data: { status: 'completed', outcome: 'connected', completedAt: now, codeVerifierEnc: null },
    })
    return { connectionId: id, replaced }
  }

  return {
    async store(grant: NewGrant): Promise<{ connectionId: string; replaced: boolean }> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await deps.db.transaction((tx) => write(tx, grant))
        } catch (err) {
          // two flows of the same user created the row at the same moment: the retry finds and locks it
          if (attempt < 3 && isUniqueViolation(err)) continue
          throw err
        }
      }
    },
  }
}

export type GrantStore = ReturnType<typeof createGrantStore>
