// The rows most tests start from: providers and callers made through the admin API, as an operator makes them, and
// connections with real ciphertexts of known tokens, so a test can look for them in answers and logs.
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Secret } from '../../src/crypto/secret.js'
import { sealTokens } from '../../src/services/connection-tokens.js'
import { ADMIN_TOKEN } from '../helper.js'

export const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` }
/** The admin token of `app`, whatever its configuration. */
const adminOf = (app: FastifyInstance) => ({ authorization: `Bearer ${app.deps.config.ADMIN_TOKEN}` })

/**
 * A provider given by its endpoints (no discovery, so nothing is called until a token is needed), through the admin
 * API; any admin API field may be given. Returns its id.
 */
export async function createProvider(app: FastifyInstance, fields: Record<string, unknown> = {}): Promise<string> {
  const id = (fields.id as string | undefined) ?? 'acme'
  const payload = {
    id,
    clientId: `${id}-client`,
    clientSecret: `${id}-secret`,
    ...(fields.issuer
      ? {}
      : {
          authorizationEndpoint: `https://${id}.example.test/authorize`,
          tokenEndpoint: `https://${id}.example.test/token`,
        }),
    ...fields,
  }
  const res = await app.inject({ method: 'POST', url: '/admin/providers', headers: adminOf(app), payload })
  if (res.statusCode !== 201) throw new Error(`creating provider ${id} failed: ${res.statusCode} ${res.body}`)
  return id
}

export interface TestCaller {
  id: string
  namespace: string
  apiKey: string
  /** `authorization: Bearer <apiKey>`, for app.inject or fetch. */
  headers: { authorization: string }
}

/** A caller with its API key, issued through the admin API. */
export async function createCaller(
  app: FastifyInstance,
  body: { allowedProviders?: string[]; allowedReturnTo?: string[]; name?: string; namespace?: string } = {},
): Promise<TestCaller> {
  const res = await app.inject({
    method: 'POST',
    url: '/admin/clients',
    headers: adminOf(app),
    payload: { name: body.name ?? `caller-${randomUUID().slice(0, 8)}`, allowedProviders: [], ...body },
  })
  if (res.statusCode !== 201) throw new Error(`creating a caller failed: ${res.statusCode} ${res.body}`)
  const { id, apiKey, namespace } = res.json() as { id: string; apiKey: string; namespace: string }
  return { id, namespace, apiKey, headers: { authorization: `Bearer ${apiKey}` } }
}

export interface SeededConnection {
  id: string
  accessToken: string
  refreshToken: string
}

/** A connection valid for an hour, with real ciphertexts of fresh tokens, written straight to the database. */
export async function seedConnection(
  app: FastifyInstance,
  fields: {
    providerId: string
    userId: string
    namespace?: string
    status?: string
    createdAt?: Date
    lastError?: string
    subject?: string
  },
): Promise<SeededConnection> {
  const { db, keyring } = app.deps
  const id = randomUUID()
  const accessToken = `at-${randomUUID()}`
  const refreshToken = `rt-${randomUUID()}`
  const sealed = sealTokens(keyring, id, {
    accessToken: new Secret(accessToken),
    refreshToken: new Secret(refreshToken),
    tokenType: 'Bearer',
  })
  await db.prisma.connection.create({
    data: { id, ...fields, ...sealed, expiresAt: new Date(Date.now() + 3600_000), scope: 'openid' },
  })
  return { id, accessToken, refreshToken }
}
