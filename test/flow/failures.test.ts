// Every way a flow can fail, each checked for its answer (status, redirect, error code) and for its effect on
// stored connections: none created, none overwritten. Refusals that can happen before the token request must.
import t, { type Test } from 'tap'
import { verifierContext } from '../../src/services/authorization.js'
import {
  adminHeaders,
  browserGet,
  connectUser,
  openStartLink,
  requestAuthorization,
  startFlowEnv,
  type FlowEnv,
} from '../support/flow.js'
import { createCaller, createProvider } from '../support/fixtures.js'

let clockOffsetMs = 0
const env = await startFlowEnv(t, {
  providers: [{ id: 'idp' }, { id: 'other' }],
  app: { now: () => new Date(Date.now() + clockOffsetMs), timing: { providerTimeoutSeconds: 2 }, background: false },
})

// Alice is connected before every failure below; none of them may touch her connection.
const alice = (await connectUser(env, { userId: 'alice' })).connection

async function connections(env: FlowEnv) {
  const rows = await env.db.prisma.connection.findMany({ orderBy: { id: 'asc' } })
  return rows.map((row) => ({
    id: row.id,
    userId: row.userId,
    access: Buffer.from(row.accessTokenEnc).toString('hex'),
    refresh: row.refreshTokenEnc && Buffer.from(row.refreshTokenEnc).toString('hex'),
    version: row.version,
    updatedAt: row.updatedAt.toISOString(),
  }))
}

/** Runs `fn`, then checks no connection was created, changed or removed, and how many codes were exchanged. */
async function unchanged(t: Test, fn: () => Promise<void>, { tokenRequests = 0 } = {}) {
  const before = await connections(env)
  const exchanges = env.server.stats.tokenRequests.authorization_code
  await fn()
  t.same(await connections(env), before, 'no connection created or overwritten')
  t.equal(env.server.stats.tokenRequests.authorization_code - exchanges, tokenRequests, 'token requests made')
}

/** A flow up to the provider's redirect back, for `userId` (alice by default: failures must not replace her). */
async function upToCallback(options: { userId?: string; deny?: boolean; returnTo?: string | null } = {}) {
  const link = await requestAuthorization(env, {
    userId: options.userId ?? 'alice',
    ...(options.returnTo === undefined ? {} : { returnTo: options.returnTo }),
  })
  const { providerUrl, cookie } = await openStartLink(link.url)
  const callbackUrl = await env.server.authorize(providerUrl, {
    login: options.userId ?? 'alice',
    ...(options.deny ? { deny: true } : {}),
  })
  return { link, cookie, callbackUrl }
}

const errorAt = (returnTo: string, error: string) => `${returnTo}?status=error&error=${error}`

t.test('the user denies consent: access_denied, no token request', async (t) => {
  await unchanged(t, async () => {
    const { cookie, callbackUrl } = await upToCallback({ deny: true })
    t.equal(callbackUrl.searchParams.get('error'), 'access_denied')
    const res = await browserGet(callbackUrl, cookie)
    t.equal(res.status, 302)
    t.equal(res.location?.href, errorAt(env.returnTo, 'access_denied'))
  })
  await unchanged(t, async () => {
    const { cookie, callbackUrl } = await upToCallback({ deny: true, returnTo: null })
    const res = await browserGet(callbackUrl, cookie)
    t.equal(res.status, 403)
    t.match(res.body, /access_denied/)
  })
})

t.test('an unknown state: invalid_state, no token request', async (t) => {
  await unchanged(t, async () => {
    const { cookie, callbackUrl } = await upToCallback()
    const forged = new URL(callbackUrl)
    forged.searchParams.set('state', 'forged-state-value')
    const res = await browserGet(forged, cookie)
    t.equal(res.status, 400, 'no flow is known: a page, not a redirect')
    t.match(res.body, /invalid_state/)
    const missing = new URL(callbackUrl)
    missing.searchParams.delete('state')
    t.equal((await browserGet(missing, cookie)).status, 400)
  })
})

t.test('a replayed callback: invalid_state, refused before any token request', async (t) => {
  const { cookie, callbackUrl } = await upToCallback({ userId: 'replay' })
  const first = await browserGet(callbackUrl, cookie)
  t.equal(first.location?.searchParams.get('status'), 'connected')
  await unchanged(t, async () => {
    const replay = await browserGet(callbackUrl, cookie)
    t.equal(replay.location?.href, errorAt(env.returnTo, 'invalid_state'))
    const replayWithoutCookie = await browserGet(callbackUrl)
    t.equal(replayWithoutCookie.location?.href, errorAt(env.returnTo, 'invalid_state'))
  })
  t.equal(env.server.stats.authorizationCodeReuse, 0, 'the provider never saw the code twice')
})

t.test('a used or expired start link', async (t) => {
  await unchanged(t, async () => {
    const link = await requestAuthorization(env, { userId: 'alice' })
    await openStartLink(link.url)
    const again = await browserGet(link.url)
    t.equal(again.location?.href, errorAt(env.returnTo, 'invalid_state'), 'single use')
    t.equal(again.cookie, '', 'no cookie for a used link')

    const late = await requestAuthorization(env, { userId: 'alice' })
    clockOffsetMs = 11 * 60_000
    try {
      const expired = await browserGet(late.url)
      t.equal(expired.location?.href, errorAt(env.returnTo, 'expired'))
    } finally {
      clockOffsetMs = 0
    }
    const unknown = await browserGet(new URL('/oauth/start/AAAAAAAAAAAAAAAAAAAAAA', env.publicUrl))
    t.equal(unknown.status, 404)
  })
})

t.test('a flow that took too long: expired, no token request', async (t) => {
  await unchanged(t, async () => {
    const { cookie, callbackUrl } = await upToCallback()
    clockOffsetMs = 11 * 60_000
    try {
      const res = await browserGet(callbackUrl, cookie)
      t.equal(res.location?.href, errorAt(env.returnTo, 'expired'))
    } finally {
      clockOffsetMs = 0
    }
    const retry = await browserGet(callbackUrl, cookie)
    t.equal(retry.location?.href, errorAt(env.returnTo, 'invalid_state'), 'the expired flow is finished')
  })
})

t.test("another browser's callback: invalid_state, and the real flow still completes", async (t) => {
  const victim = await upToCallback({ userId: 'victim' })
  const attacker = await upToCallback({ userId: 'attacker' })
  await unchanged(t, async () => {
    const swapped = await browserGet(victim.callbackUrl, attacker.cookie)
    t.equal(swapped.location?.href, errorAt(env.returnTo, 'invalid_state'))
    const none = await browserGet(victim.callbackUrl)
    t.equal(none.location?.href, errorAt(env.returnTo, 'invalid_state'))
    const [name] = victim.cookie.split('=')
    const tampered = await browserGet(victim.callbackUrl, `${name}=${'x'.repeat(43)}.forgedsignature`)
    t.equal(tampered.location?.href, errorAt(env.returnTo, 'invalid_state'), 'a forged cookie')
  })
  const real = await browserGet(victim.callbackUrl, victim.cookie)
  t.equal(real.location?.searchParams.get('status'), 'connected')
  t.equal(await env.db.prisma.connection.count({ where: { userId: { in: ['victim', 'attacker'] } } }), 1)
})

t.test("mix-up: a state issued for one provider arrives at another's callback", async (t) => {
  await unchanged(t, async () => {
    const { cookie, callbackUrl } = await upToCallback()
    const elsewhere = new URL(callbackUrl)
    elsewhere.pathname = '/oauth/other/callback'
    const res = await browserGet(elsewhere, cookie)
    t.equal(res.location?.href, errorAt(env.returnTo, 'invalid_state'))
    const afterwards = await browserGet(callbackUrl, cookie)
    t.equal(afterwards.location?.href, errorAt(env.returnTo, 'invalid_state'), 'the flow is abandoned')
    const unknownProvider = new URL(callbackUrl)
    unknownProvider.pathname = '/oauth/nope/callback'
    t.equal((await browserGet(unknownProvider, cookie)).location?.searchParams.get('error'), 'invalid_state')
  })
  await unchanged(t, async () => {
    const { cookie, callbackUrl } = await upToCallback()
    const wrongIssuer = new URL(callbackUrl)
    wrongIssuer.searchParams.set('iss', 'https://attacker.example')
    const res = await browserGet(wrongIssuer, cookie)
    t.equal(res.location?.href, errorAt(env.returnTo, 'exchange_failed'), 'an iss of another server is refused')
  })
})

t.test('a code already used: the provider answers invalid_grant, exchange_failed', async (t) => {
  await unchanged(
    t,
    async () => {
      const { link, cookie, callbackUrl } = await upToCallback()
      // someone redeems the code first, with the broker's credentials and verifier
      const request = await env.db.prisma.authorizationRequest.findUniqueOrThrow({ where: { id: link.id } })
      const verifier = env.app.deps.keyring.decrypt(request.codeVerifierEnc as Uint8Array, verifierContext(link.id))
      const stolen = await fetch(env.server.plainOAuthEndpoints.tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`broker-idp:${env.clientSecret}`).toString('base64')}` },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: callbackUrl.searchParams.get('code') as string,
          redirect_uri: `${env.publicUrl.origin}/oauth/idp/callback`,
          code_verifier: verifier,
        }),
      })
      t.equal(stolen.status, 200)
      const res = await browserGet(callbackUrl, cookie)
      t.equal(res.location?.href, errorAt(env.returnTo, 'exchange_failed'))
      t.same(env.server.stats.grantErrors.at(-1)?.error, 'invalid_grant')
      t.equal(env.server.stats.authorizationCodeReuse, 1)
    },
    { tokenRequests: 2 },
  )
})

t.test('the token endpoint fails or hangs: exchange_failed, within the timeout', async (t) => {
  await unchanged(
    t,
    async () => {
      const { cookie, callbackUrl } = await upToCallback()
      env.server.setTokenFault({ kind: 'status', status: 500, times: 1 })
      const res = await browserGet(callbackUrl, cookie)
      t.equal(res.location?.href, errorAt(env.returnTo, 'exchange_failed'))
    },
    { tokenRequests: 1 },
  )
  await unchanged(
    t,
    async () => {
      const { cookie, callbackUrl } = await upToCallback()
      env.server.setTokenFault({ kind: 'hang', grantType: 'authorization_code' })
      const started = Date.now()
      const res = await browserGet(callbackUrl, cookie)
      env.server.setTokenFault(null)
      t.equal(res.location?.href, errorAt(env.returnTo, 'exchange_failed'))
      const elapsed = Date.now() - started
      t.ok(elapsed >= 1500 && elapsed < 8000, `answered after the 2 s provider timeout (${elapsed} ms)`)
    },
    { tokenRequests: 1 },
  )
})

t.test('our client credentials refused at the exchange: exchange_failed, and the provider is flagged', async (t) => {
  await unchanged(
    t,
    async () => {
      const { cookie, callbackUrl } = await upToCallback()
      env.server.setTokenFault({ kind: 'status', status: 401, body: '{"error":"invalid_client"}', times: 1 })
      const res = await browserGet(callbackUrl, cookie)
      t.equal(res.location?.href, errorAt(env.returnTo, 'exchange_failed'))
    },
    { tokenRequests: 1 },
  )
  const flagged = await env.db.prisma.provider.findUniqueOrThrow({ where: { id: 'idp' } })
  t.match(flagged, { credentialsStatus: 'invalid_client', credentialsError: /invalid_client/ })
  await connectUser(env, { userId: 'after-fix' })
  const cleared = await env.db.prisma.provider.findUniqueOrThrow({ where: { id: 'idp' } })
  t.match(cleared, { credentialsStatus: 'ok', credentialsError: null })
})

t.test('two callbacks at once: one exchange', async (t) => {
  const { cookie, callbackUrl } = await upToCallback({ userId: 'racer' })
  const before = env.server.stats.tokenRequests.authorization_code
  const answers = await Promise.all([browserGet(callbackUrl, cookie), browserGet(callbackUrl, cookie)])
  const statuses = answers.map((answer) => answer.location?.searchParams.get('status') ?? '').sort()
  t.same(statuses, ['connected', 'error'])
  t.equal(env.server.stats.tokenRequests.authorization_code - before, 1)
})

t.test('returnTo not allowed and unknown providers are refused at POST /authorizations', async (t) => {
  await unchanged(t, async () => {
    const post = (payload: object, headers = env.caller.headers) =>
      env.app.inject({ method: 'POST', url: '/authorizations', headers, payload })
    for (const returnTo of [
      'https://evil.example/connections',
      '//evil.example/connections',
      'javascript:alert(1)',
      'https://app.example.test@evil.example/',
      'https://app.example.test.evil.example/',
      'http://app.example.test/connections',
      'https://app.example.test%2F@evil.example/',
      '/connections',
    ]) {
      const res = await post({ provider: 'idp', userId: 'alice', returnTo })
      t.equal(res.statusCode, 400, returnTo)
      t.same(res.json(), {
        error: 'invalid_return_to',
        message: "returnTo does not match any of the caller's allowedReturnTo",
      })
    }
    const unknown = await post({ provider: 'nope', userId: 'alice' })
    t.equal(unknown.statusCode, 403, 'a provider the caller is not allowed')
    t.equal(unknown.json().error, 'forbidden')
    // allowed a provider that was deleted since
    await createProvider(env.app, { id: 'ghost' })
    const missing = await createCaller(env.app, { allowedProviders: ['ghost'] })
    const deleted = await env.app.inject({
      method: 'DELETE',
      url: '/admin/providers/ghost',
      headers: { authorization: `Bearer ${env.config.ADMIN_TOKEN}` },
    })
    t.equal(deleted.statusCode, 204)
    const ghost = await post({ provider: 'ghost', userId: 'alice' }, missing.headers)
    t.equal(ghost.statusCode, 404, 'an allowed provider that no longer exists')
    t.equal(ghost.json().error, 'not_found')
    t.equal((await post({ provider: 'idp', userId: 'alice' }, { authorization: 'Bearer nope' })).statusCode, 401)
    t.equal((await post({ provider: 'idp' })).statusCode, 400)
  })
  t.equal(
    await env.db.prisma.authorizationRequest.count({ where: { userId: 'alice', returnTo: { contains: 'evil' } } }),
    0,
  )
})

t.test('an unreachable provider at the start: provider_unavailable, and the link can be retried', async (t) => {
  await unchanged(t, async () => {
    const created = await env.app.inject({
      method: 'POST',
      url: '/admin/providers',
      headers: adminHeaders,
      payload: { id: 'down', issuer: 'http://127.0.0.1:1', clientId: 'c', clientSecret: 's' },
    })
    t.equal(created.statusCode, 201)
    const caller = await createCaller(env.app, { allowedProviders: ['down'], allowedReturnTo: [env.returnTo] })
    const link = await requestAuthorization(env, { userId: 'alice', provider: 'down' }, caller)
    const res = await browserGet(link.url)
    t.equal(res.location?.href, errorAt(env.returnTo, 'provider_unavailable'))
    t.equal(res.cookie, '', 'no flow cookie')
    const request = await env.db.prisma.authorizationRequest.findUniqueOrThrow({ where: { id: link.id } })
    t.equal(request.status, 'created', 'still unused: the user can try the link again')
  })
})

t.test('a malformed callback query is a 400 JSON error, not a 500', async (t) => {
  const res = await browserGet(new URL(`/oauth/idp/callback?state=${'s'.repeat(2000)}&code=x`, env.publicUrl))
  t.equal(res.status, 400)
  t.equal(JSON.parse(res.body).error, 'invalid_request')
})

t.test('alice kept her connection through all of it', async (t) => {
  const now = await env.db.prisma.connection.findUniqueOrThrow({ where: { id: alice.id } })
  t.same(now.accessTokenEnc, alice.accessTokenEnc)
  t.equal(now.version, alice.version)
})
