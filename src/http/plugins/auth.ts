import { hash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Db } from '../../db/client.js'
import { unauthorized } from '../../errors.js'
import { hashApiKey, secretsEqual } from '../../services/api-keys.js'

export interface Caller {
  id: string
  name: string
  allowedProviders: string[]
  allowedReturnTo: string[]
}

declare module 'fastify' {
  interface FastifyInstance {
    requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<void>
    requireCaller(request: FastifyRequest, reply: FastifyReply): Promise<void>
  }
  interface FastifyRequest {
    caller?: Caller
  }
}

export interface AuthOptions {
  prisma: Db
  adminToken: string
  /** How long a looked-up key is trusted before it is read again: bounds how late a revocation takes effect. */
  cacheTtlMs?: number
  now?: () => number
}

const MAX_CACHED_KEYS = 10_000

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string') return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

export default fp<AuthOptions>(
  async (app, { prisma, adminToken, cacheTtlMs = 2_000, now = Date.now }) => {
    const cache = new Map<string, { caller: Caller | null; at: number }>()
    // lookups in flight: when a busy caller's entry expires, its requests share one read instead of all making one
    const reading = new Map<string, Promise<Caller | null>>()

    async function lookUp(apiKey: string): Promise<Caller | null> {
      // every authenticated request hashes its key: one call, without a Hash object, straight to the cache's key
      const cacheKey = hash('sha256', apiKey, 'base64')
      const hit = cache.get(cacheKey)
      if (hit && now() - hit.at < cacheTtlMs) return hit.caller
      let pending = reading.get(cacheKey)
      if (!pending) {
        pending = read(hashApiKey(apiKey), cacheKey).finally(() => reading.delete(cacheKey))
        reading.set(cacheKey, pending)
      }
      return pending
    }

    async function read(keyHash: Uint8Array<ArrayBuffer>, cacheKey: string): Promise<Caller | null> {
      const row = await prisma.apiClient.findUnique({ where: { keyHash } })
      const caller = row && !row.revokedAt ? pickCaller(row) : null
      if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value as string)
      cache.set(cacheKey, { caller, at: now() })
      return caller
    }

    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      const token = bearer(request)
      if (!token || !secretsEqual(token, adminToken)) throw unauthorized('admin token required')
    })

    app.decorate('requireCaller', async (request: FastifyRequest) => {
      const token = bearer(request)
      const caller = token ? await lookUp(token) : null
      if (!caller) throw unauthorized('a valid API key is required')
      request.caller = caller
    })
  },
  { name: 'auth' },
)

function pickCaller(row: Caller): Caller {
  return { id: row.id, name: row.name, allowedProviders: row.allowedProviders, allowedReturnTo: row.allowedReturnTo }
}
