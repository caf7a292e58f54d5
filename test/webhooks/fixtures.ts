// Rows the webhook tests need, written straight to the database: a provider, callers, a connection, and a
// state change with its event in one transaction, as the services do.
import { randomUUID } from 'node:crypto'
import type { Db } from '../../src/db/client.js'
import { generateApiKey } from '../../src/services/api-keys.js'
import { emitConnectionEvent, type ConnectionEvent } from '../../src/webhooks/outbox.js'

export const ACCESS_TOKEN = 'at-VERY-SECRET-access-token-value'
export const REFRESH_TOKEN = 'rt-VERY-SECRET-refresh-token-value'

export async function createProvider(prisma: Db, id = 'acme'): Promise<string> {
  await prisma.provider.create({
    data: {
      id,
      clientId: 'broker-at-acme',
      authorizationEndpoint: 'https://acme.example/authorize',
      tokenEndpoint: 'https://acme.example/token',
    },
  })
  return id
}

export async function createCaller(
  prisma: Db,
  options: { name?: string; allowedProviders?: string[] } = {},
): Promise<{ id: string; apiKey: string }> {
  const { apiKey, keyHash, keyPrefix } = generateApiKey()
  const row = await prisma.apiClient.create({
    data: {
      name: options.name ?? 'billing',
      keyHash,
      keyPrefix,
      allowedProviders: options.allowedProviders ?? ['acme'],
    },
  })
  return { id: row.id, apiKey }
}

export async function createConnection(prisma: Db, providerId: string, userId: string): Promise<string> {
  const row = await prisma.connection.create({
    data: { id: randomUUID(), providerId, userId, accessTokenEnc: new Uint8Array([1, 2, 3]) },
  })
  return row.id
}

/** A status change and its event, committed together. */
export async function changeStatus(
  prisma: Db,
  connectionId: string,
  type: ConnectionEvent['type'],
  status: string,
  at: Date,
  detail?: ConnectionEvent['detail'],
): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const connection = await tx.connection.update({ where: { id: connectionId }, data: { status } })
    return emitConnectionEvent(
      tx,
      { type, connectionId, providerId: connection.providerId, userId: connection.userId, status, detail },
      at,
    )
  })
}
