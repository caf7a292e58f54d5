import type { FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { unauthorized } from '../../errors.js'
import { bearer } from '../bearer.js'
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

/** The two credentials: the admin token, and a caller's API key (its caller set on the request). */
export default fp<AuthOptions>(
  async (app, { callers, adminToken }) => {
    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      const token = bearer(request)
      if (!token || !secretsEqual(token, adminToken)) {
        throw await app.authenticationFailed(request, token, unauthorized('admin token required'))
      }
    })

    app.decorate('requireCaller', async (request: FastifyRequest) => {
      const token = bearer(request)
      const caller = token ? await callers.authenticate(token) : null
      if (!caller) throw await app.authenticationFailed(request, token, unauthorized('a valid API key is required'))
      request.caller = caller
    })
  },
  { name: 'auth', dependencies: ['rate-limit'] },
)
