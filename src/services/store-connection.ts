import { randomUUID } from 'node:crypto'
import type { Deps } from '../app.js'
import { isUniqueViolation } from '../db/errors.js'
import type { Provider } from '../db/generated/client.js'
import { emitConnectionEvent } from '../webhooks/outbox.js'
import { recordAudit } from './audit.js'
import { sealTokens, type GrantedTokens } from './connection-tokens.js'
import { markProviderCredentials } from './provider-credentials.js'
import { nextRefreshAt, tokenLifetime } from './refresh-policy.js'

export interface NewGrant {
  provider: Pick<Provider, 'id' | 'defaultTokenLifetimeSeconds' | 'refreshMarginSeconds'>
  userId: string
  tokens: GrantedTokens
  /** The ID token's `sub`, for OpenID Connect providers. */
  subject: string | null
  clientId: string
  authorizationId: string
}

interface LockedConnection {
  id: string
  subject: string | null
  status: string
  hasRefreshToken: boolean
}

/**
 * Stores the tokens of a completed flow as the connection of (provider, user), in one transaction with its audit
 * entry, its webhook event and the completion of the authorization request. A repeat consent replaces the
 * tokens of the existing row (locked, same id, state reset) rather than adding a second connection.
 */
export async function storeConnection(
  deps: Pick<Deps, 'prisma' | 'keyring' | 'config' | 'now'>,
  grant: NewGrant,
): Promise<{ connectionId: string; replaced: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await writeConnection(deps, grant)
    } catch (err) {
      // two flows of the same user created the row at the same moment: the retry finds and locks it
      if (attempt < 3 && isUniqueViolation(err)) continue
      throw err
    }
  }
}

async function writeConnection(
  deps: Pick<Deps, 'prisma' | 'keyring' | 'config' | 'now'>,
  { provider, userId, tokens, subject, clientId, authorizationId }: NewGrant,
): Promise<{ connectionId: string; replaced: boolean }> {
  return deps.prisma.$transaction(async (tx) => {
    const now = deps.now()
    const [existing] = await tx.$queryRaw<LockedConnection[]>`
      SELECT id::text AS id, subject, status, refresh_token_enc IS NOT NULL AS "hasRefreshToken"
      FROM connections WHERE provider_id = ${provider.id} AND user_id = ${userId} FOR UPDATE`
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
    const fields = {
      status: 'active',
      subject,
      accessTokenEnc: sealed.accessTokenEnc,
      ...(keepRefreshToken ? {} : { refreshTokenEnc: sealed.refreshTokenEnc ?? null }),
      tokenType: tokens.tokenType,
      scope: tokens.scope ?? null,
      expiresAt,
      lifetimeSeconds,
      nextRefreshAt: nextRefreshAt(timing, deps.config.REFRESH_WINDOW_SECONDS),
      failureCount: 0,
      lastError: null,
      lastErrorAt: null,
      // a refresh in flight with the old tokens must not write over these: its lease and version no longer match
      leaseOwner: null,
      leaseExpiresAt: null,
    }
    if (existing) {
      await tx.connection.update({ where: { id }, data: { ...fields, version: { increment: 1 } } })
    } else {
      await tx.connection.create({
        data: { id, providerId: provider.id, userId, createdByClientId: clientId, ...fields },
      })
    }

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
    await tx.authorizationRequest.update({
      where: { id: authorizationId },
      data: { status: 'completed', outcome: 'connected', completedAt: now, codeVerifierEnc: null },
    })
    return { connectionId: id, replaced }
  })
}
