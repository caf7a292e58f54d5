import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { FLOW_TTL_SECONDS } from '../../../schemas/authorization.js'
import { flowCookieName } from '../../../services/authorization.js'
import type { FlowOutcome } from '../../../services/callback.js'
import { flowCookiePath } from '../../../urls/public.js'
import { errorResponse } from '../../schemas.js'
import { flowPage, PAGE_CSP, pageStatus } from './page.js'

const redirect = (description: string) =>
  ({
    description,
    type: 'null',
    headers: { location: { type: 'string', format: 'uri' } },
  }) as const

const page = (description: string, example: string) =>
  ({ description, content: { 'text/html': { schema: { type: 'string', example } } } }) as const

function sendPage(reply: FastifyReply, outcome: FlowOutcome | 'unknown', providerName: string | null) {
  return reply
    .code(pageStatus(outcome))
    .header('content-security-policy', PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(flowPage(outcome, providerName))
}

const oauthRoutes: FastifyPluginAsync = async (app) => {
  const { config } = app.deps
  const { authorizations, callbacks, providers } = app.services
  // the page names the provider by its display name, when it has one
  const displayName = (id: string) =>
    providers.get(id).then(
      (provider) => provider.displayName,
      () => null,
    )
  const cookieOptions = {
    path: flowCookiePath(config.PUBLIC_URL),
    httpOnly: true,
    sameSite: 'lax',
    secure: config.PUBLIC_URL.protocol === 'https:',
  } as const

  // The browser leaves with a code or state in the URL it came from: nothing here may be cached or referred.
  async function finish(
    reply: FastifyReply,
    outcome: FlowOutcome,
    returnTo: string | null,
    providerId: string,
    result?: string,
  ) {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer')
    if (returnTo) {
      const target = new URL(returnTo)
      if (outcome === 'connected') target.searchParams.set('status', 'connected')
      else if (outcome === 'pending') {
        target.searchParams.set('status', 'pending')
        // a one-time code bound to the caller's API key and the flow's user: nothing without both
        target.searchParams.set('result', result ?? '')
      } else {
        target.searchParams.set('status', 'error')
        target.searchParams.set('error', outcome)
      }
      return reply.redirect(target.href, 302)
    }
    return sendPage(reply, outcome, await displayName(providerId))
  }

  app.get<{ Params: { id: string } }>(
    '/oauth/start/:id',
    {
      schema: {
        tags: ['browser'],
        summary: 'Open a start link: sends the browser to the provider',
        description:
          'Single use. Sets the flow cookie (signed, HttpOnly, SameSite=Lax) and redirects to the provider with ' +
          '`state`, PKCE `S256` and, for OpenID Connect, `nonce`. A link already used or expired sends the browser ' +
          'to `returnTo` with the error, or shows a page.',
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: { type: 'string', maxLength: 64, description: 'From the `url` of POST /authorizations' } },
        },
        response: {
          302: redirect("To the provider's authorization endpoint, or to returnTo when the link cannot be used"),
          400: page('The link was already used, or has expired', flowPage('invalid_state')),
          404: page('No such link', flowPage('unknown')),
          503: page('The provider could not be reached', flowPage('provider_unavailable')),
        },
      },
    },
    async (request, reply) => {
      const started = await authorizations.start(request.params.id)
      if (started.kind === 'unknown') return sendPage(reply.header('cache-control', 'no-store'), 'unknown', null)
      if (started.kind === 'failed') return finish(reply, started.error, started.returnTo, started.providerId)
      reply.setCookie(flowCookieName(started.authorizationId), started.binding, {
        ...cookieOptions,
        signed: true,
        maxAge: FLOW_TTL_SECONDS,
      })
      return reply
        .header('cache-control', 'no-store')
        .header('referrer-policy', 'no-referrer')
        .redirect(started.location.href, 302)
    },
  )

  app.get<{ Params: { provider: string } }>(
    '/oauth/:provider/callback',
    {
      // not rate limited: a 429 here would lose the user's authorization code, and everyone behind one NAT shares an
      // address; an unknown or used state costs one primary-key read and is answered without calling the provider
      config: { rateLimit: false },
      schema: {
        tags: ['browser'],
        summary: 'The redirect URI: exchanges the code and stores the connection',
        description:
          'Register `$PUBLIC_URL/oauth/<provider>/callback` at the provider. Ends with a redirect to `returnTo` ' +
          '(`status=connected`; for a confirmed flow `status=pending&result=<one-time code>`; or ' +
          '`status=error&error=` `access_denied`, `invalid_state`, `expired`, `exchange_failed`, ' +
          '`provider_unavailable`, `account_mismatch`), or a page when the flow has no returnTo.',
        params: {
          type: 'object',
          required: ['provider'],
          properties: { provider: { type: 'string', maxLength: 64 } },
        },
        querystring: {
          type: 'object',
          properties: {
            code: { type: 'string', maxLength: 4096 },
            state: { type: 'string', maxLength: 1024 },
            iss: { type: 'string', maxLength: 2048 },
            error: { type: 'string', maxLength: 256 },
            error_description: { type: 'string', maxLength: 2048 },
          },
        },
        response: {
          200: page('Connected (no returnTo)', flowPage('connected')),
          302: redirect('To returnTo with `status=connected` or `status=error&error=<code>`'),
          400: {
            description: 'The flow failed (no returnTo); or a malformed query, as JSON',
            content: {
              'text/html': { schema: { type: 'string', example: flowPage('invalid_state') } },
              'application/json': {
                schema: errorResponse('Malformed query', {
                  error: 'invalid_request',
                  message: 'querystring/state must NOT have more than 1024 characters',
                }),
              },
            },
          },
          403: page('The user denied consent (no returnTo)', flowPage('access_denied')),
          409: page('Another account than the connection holds (no returnTo)', flowPage('account_mismatch')),
          502: page('The code exchange failed (no returnTo)', flowPage('exchange_failed')),
        },
      },
    },
    async (request, reply) => {
      const url = request.raw.url ?? ''
      const queryStart = url.indexOf('?')
      const result = await callbacks.complete({
        providerId: request.params.provider,
        rawQuery: queryStart === -1 ? '' : url.slice(queryStart + 1),
        bindingFor: (authorizationId) => {
          const raw = request.cookies[flowCookieName(authorizationId)]
          if (raw === undefined) return undefined
          const unsigned = request.unsignCookie(raw)
          return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined
        },
      })
      if (result.authorizationId) reply.clearCookie(flowCookieName(result.authorizationId), cookieOptions)
      return finish(reply, result.outcome, result.returnTo, request.params.provider, result.result)
    },
  )
}

export default oauthRoutes
