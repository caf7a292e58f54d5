import { randomUUID } from 'node:crypto'
import { cipherContext, type Keyring } from '../crypto/keyring.js'
import { recordAudit, type Actor } from '../db/audit.js'
import type { Database, Db } from '../db/client.js'
import { invalidRequest, notFound } from '../errors.js'
import { connectionEventTypes, type ConnectionEventType } from '../schemas/webhook.js'
import { generateSigningSecret } from './signature.js'
import type { WebhookTargets } from './targets.js'

export const signingSecretContext = (endpointId: string) => cipherContext('webhook_endpoints', endpointId, 'secret')

/** A caller's webhook endpoint as shown to its owner and the admin: never the secret. */
export interface WebhookEndpointView {
  id: string
  clientId: string
  url: string
  events: ConnectionEventType[]
  createdAt: Date
  updatedAt: Date
}

export interface WebhookEndpointInput {
  url: string
  events?: ConnectionEventType[]
}

interface EndpointsDeps {
  db: Database
  keyring: Keyring
  webhookTargets: Pick<WebhookTargets, 'checkRegistration'>
}

/** One endpoint per caller: registration replaces it in place; the secret is made once and rotated on request. */
export function createWebhookEndpoints({ db, keyring, webhookTargets }: EndpointsDeps) {
  const view = (row: Omit<WebhookEndpointView, 'events'> & { events: string[] }): WebhookEndpointView => ({
    id: row.id,
    clientId: row.clientId,
    url: row.url,
    events: row.events.filter((e): e is ConnectionEventType => (connectionEventTypes as readonly string[]).includes(e)),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  })

  async function requireCaller(tx: Db, clientId: string): Promise<void> {
    const client = await tx.prisma.apiClient.findUnique({ where: { id: clientId }, select: { revokedAt: true } })
    if (!client || client.revokedAt) throw notFound('client')
  }

  return {
    async get(clientId: string): Promise<WebhookEndpointView | null> {
      const row = await db.prisma.webhookEndpoint.findUnique({ where: { clientId } })
      return row && view(row)
    },

    /** Creates (with a new secret, returned once) or updates the caller's endpoint. */
    async put(
      clientId: string,
      input: WebhookEndpointInput,
      actor: Actor,
    ): Promise<{ endpoint: WebhookEndpointView; secret?: string }> {
      const url = await webhookTargets.checkRegistration('url', input.url)
      const events = [...new Set(input.events ?? connectionEventTypes)]
      if (events.length === 0) throw invalidRequest('events must name at least one event')
      const id = randomUUID()
      const secret = generateSigningSecret()
      const secretEnc = keyring.encrypt(secret, signingSecretContext(id))
      return db.transaction(async (tx) => {
        await requireCaller(tx, clientId)
        // a single INSERT ... ON CONFLICT: two concurrent registrations end with one endpoint
        const row = await tx.prisma.webhookEndpoint.upsert({
          where: { clientId },
          create: { id, clientId, url, events, secretEnc },
          update: { url, events },
        })
        const created = row.id === id
        await recordAudit(tx, {
          actor,
          action: created ? 'webhook.created' : 'webhook.updated',
          subjectType: 'webhook',
          subjectId: row.id,
          detail: { clientId, events },
        })
        return created ? { endpoint: view(row), secret } : { endpoint: view(row) }
      })
    },

    /** Replaces the secret; deliveries are signed with the new one from the next attempt on. */
    async rotateSecret(clientId: string, actor: Actor): Promise<{ endpoint: WebhookEndpointView; secret: string }> {
      return db.transaction(async (tx) => {
        const existing = await tx.prisma.webhookEndpoint.findUnique({ where: { clientId }, select: { id: true } })
        if (!existing) throw notFound('webhook')
        const secret = generateSigningSecret()
        const row = await tx.prisma.webhookEndpoint.update({
          where: { id: existing.id },
          data: { secretEnc: keyring.encrypt(secret, signingSecretContext(existing.id)) },
        })
        await recordAudit(tx, { actor, action: 'webhook.secret_rotated', subjectType: 'webhook', subjectId: row.id })
        return { endpoint: view(row), secret }
      })
    },

    /** Deletes the endpoint and, with it, its delivery history and pending deliveries. */
    async remove(clientId: string, actor: Actor): Promise<void> {
      await db.transaction(async (tx) => {
        const existing = await tx.prisma.webhookEndpoint.findUnique({ where: { clientId }, select: { id: true } })
        if (!existing) throw notFound('webhook')
        await tx.prisma.webhookEndpoint.delete({ where: { id: existing.id } })
        await recordAudit(tx, { actor, action: 'webhook.deleted', subjectType: 'webhook', subjectId: existing.id })
      })
    },
  }
}

export type WebhookEndpoints = ReturnType<typeof createWebhookEndpoints>
