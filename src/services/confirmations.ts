// Confirmed flows: the defence against a start link handed to someone else's browser. The callback keeps the grant
// aside, encrypted, and hands the caller's returnTo a one-time result; the caller's backend, which knows whose
// session it is, confirms the user with its API key. A wrong user, or no confirmation in time, revokes the grant.
import { randomBytes } from 'node:crypto'
import { cipherContext } from '../crypto/keyring.js'
import { Secret } from '../crypto/secret.js'
import { recordAudit } from '../db/audit.js'
import type { AuthorizationRequest, Provider } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { BrokerError, notFound } from '../errors.js'
import { digest } from './authorization.js'
import { assertProviderAllowed, type Caller } from './callers.js'
import type { Grant, GrantStore } from './grants.js'

/** How long a parked grant waits for its confirmation. */
export const CONFIRM_TTL_SECONDS = 600
// a confirmation or a sweep holds the row this long while it calls the provider and stores
const CLAIM_SECONDS = 60
const SWEEP_BATCH = 50

const grantContext = (authorizationId: string) =>
  cipherContext('authorization_requests', authorizationId, 'pending_grant')

interface SealedGrant {
  accessToken: string
  refreshToken?: string
  tokenType: string
  scope?: string
  expiresIn?: number
  refreshTokenExpiresIn?: number
  subject: string | null
  metadata: Record<string, string>
}

export interface ConfirmedConnection {
  provider: string
  userId: string
  status: 'connected'
  expiresAt: Date
  scope: string | null
}

type ParkedRequest = AuthorizationRequest & { provider: Provider }

export function createConfirmations(
  deps: Pick<Deps, 'db' | 'keyring' | 'now' | 'log'>,
  grants: Pick<GrantStore, 'store' | 'release'>,
) {
  const { db, keyring } = deps
  const { prisma } = db
  const later = (seconds: number) => new Date(deps.now().getTime() + seconds * 1000)

  function seal(authorizationId: string, { tokens, subject, metadata }: Grant): Uint8Array<ArrayBuffer> {
    const sealed: SealedGrant = {
      accessToken: tokens.accessToken.reveal(),
      ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken.reveal() } : {}),
      tokenType: tokens.tokenType,
      ...(tokens.scope === undefined ? {} : { scope: tokens.scope }),
      ...(tokens.expiresIn === undefined ? {} : { expiresIn: tokens.expiresIn }),
      ...(tokens.refreshTokenExpiresIn === undefined ? {} : { refreshTokenExpiresIn: tokens.refreshTokenExpiresIn }),
      subject,
      metadata,
    }
    return keyring.encrypt(JSON.stringify(sealed), grantContext(authorizationId))
  }

  function open(request: { id: string; pendingGrantEnc: Uint8Array | null }): Grant {
    const sealed = JSON.parse(
      keyring.decrypt(request.pendingGrantEnc as Uint8Array, grantContext(request.id)),
    ) as SealedGrant
    return {
      tokens: {
        accessToken: new Secret(sealed.accessToken),
        ...(sealed.refreshToken ? { refreshToken: new Secret(sealed.refreshToken) } : {}),
        tokenType: sealed.tokenType,
        ...(sealed.scope === undefined ? {} : { scope: sealed.scope }),
        ...(sealed.expiresIn === undefined ? {} : { expiresIn: sealed.expiresIn }),
        ...(sealed.refreshTokenExpiresIn === undefined ? {} : { refreshTokenExpiresIn: sealed.refreshTokenExpiresIn }),
      },
      subject: sealed.subject,
      metadata: sealed.metadata ?? {},
    }
  }

  /** Ends a parked request without storing its grant; the grant's ciphertext goes with it. */
  async function drop(id: string, from: string, outcome: string): Promise<void> {
    await prisma.authorizationRequest.updateMany({
      where: { id, status: from },
      data: { status: 'failed', outcome, completedAt: deps.now(), pendingGrantEnc: null, codeVerifierEnc: null },
    })
  }

  return {
    /** Keeps a grant aside for its confirmation; the one-time result goes to the caller's returnTo. */
    async park(authorizationId: string, grant: Grant): Promise<string | null> {
      const result = randomBytes(32).toString('base64url')
      const { count } = await prisma.authorizationRequest.updateMany({
        where: { id: authorizationId, status: 'exchanging' },
        data: {
          status: 'pending',
          pendingGrantEnc: seal(authorizationId, grant),
          resultHash: digest(result),
          pendingUntil: later(CONFIRM_TTL_SECONDS),
          codeVerifierEnc: null,
        },
      })
      return count === 1 ? result : null
    },

    /** POST /authorizations/confirm: stores the grant when `userId` is the flow's user; revokes it when not. */
    async confirm(caller: Caller, body: { result: string; userId: string }): Promise<ConfirmedConnection> {
      const request = await prisma.authorizationRequest.findUnique({
        where: { resultHash: digest(body.result) },
        include: { provider: true },
      })
      const now = deps.now()
      const unknown = () => notFound('authorization result')
      if (!request || request.namespace !== caller.namespace) throw unknown()
      if (request.status !== 'pending' || !request.pendingUntil || request.pendingUntil <= now) throw unknown()
      assertProviderAllowed(caller, request.providerId)
      // one confirmation wins; its claim keeps the sweep away while it stores
      const claimed = await prisma.authorizationRequest.updateMany({
        where: { id: request.id, status: 'pending', pendingUntil: { gt: now } },
        data: { status: 'confirming', pendingUntil: later(CLAIM_SECONDS) },
      })
      if (claimed.count !== 1) throw unknown()
      const grant = open(request)
      if (body.userId !== request.userId) {
        await grants.release(request.provider, grant, 'user_mismatch')
        await drop(request.id, 'confirming', 'user_mismatch')
        throw new BrokerError('user_mismatch', 'the flow was started for another user; its grant is revoked')
      }
      const stored = await grants.store(request, grant, 'confirming')
      if (stored.kind === 'account_mismatch') {
        await grants.release(request.provider, grant, 'account_mismatch')
        await drop(request.id, 'confirming', 'account_mismatch')
        throw new BrokerError('account_mismatch', 'the connection belongs to another account at the provider')
      }
      if (stored.kind !== 'stored') throw unknown()
      return { provider: request.providerId, userId: request.userId, status: 'connected', ...stored }
    },

    /**
     * Revokes and drops the grants left unconfirmed past their time (and confirmations that died while storing).
     * Safe with several instances: each claims its rows with SKIP LOCKED and holds them while it calls providers.
     */
    async sweep(): Promise<number> {
      const now = deps.now()
      const claimed = await db.sql.rows<{ id: string }>({
        text: `
          UPDATE authorization_requests SET status = 'dropping', pending_until = $2
          WHERE id IN (
            SELECT id FROM authorization_requests
            WHERE status IN ('pending', 'confirming', 'dropping') AND pending_until <= $1
            ORDER BY pending_until LIMIT $3 FOR UPDATE SKIP LOCKED
          )
          RETURNING id`,
        values: [now, later(CLAIM_SECONDS), SWEEP_BATCH],
      })
      if (claimed.length === 0) return 0
      const rows: ParkedRequest[] = await prisma.authorizationRequest.findMany({
        where: { id: { in: claimed.map((row) => row.id) }, status: 'dropping' },
        include: { provider: true },
      })
      for (const request of rows) {
        if (request.pendingGrantEnc) await grants.release(request.provider, open(request), 'unconfirmed')
        await drop(request.id, 'dropping', 'unconfirmed')
        await recordAudit(db, {
          actor: 'system',
          action: 'authorization.unconfirmed_revoked',
          subjectType: 'authorization',
          subjectId: request.id,
          namespace: request.namespace,
          providerId: request.providerId,
          userId: request.userId,
        })
      }
      return rows.length
    },
  }
}

export type Confirmations = ReturnType<typeof createConfirmations>
