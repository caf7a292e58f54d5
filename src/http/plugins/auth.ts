import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { unauthorized } from '../../errors.js'
import { secretsEqual } from '../../services/api-keys.js'
import type { Caller, CallerService } from '../../services/callers.js'

declare module 'fastify' {
  interface FastifyInstance {
    requireAdmin(request: FastifyRequest): Promise<void>
    requireCaller(request: FastifyRequest): Promise<void>
  }
  interface FastifyRequest {
    caller?: Caller
  }
}

export interface AuthOptions {
  callers: Pick<CallerService, 'authenticate'>
  adminToken: string
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string') return undefined
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/** The two credentials: the admin token, and a caller's API key (its caller set on the request). */
export default fp<AuthOptions>(
  async (app, { callers, adminToken }) => {
    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      const token = bearer(request)
      if (!token || !secretsEqual(token, adminToken)) throw unauthorized('admin token required')
    })

    app.decorate('requireCaller', async (request: FastifyRequest) => {
      const token = bearer(request)
      const caller = token ? await callers.authenticate(token) : null
      if (!caller) throw unauthorized('a valid API key is required')
      request.caller = caller
    })
  },
  { name: 'auth' },
)
