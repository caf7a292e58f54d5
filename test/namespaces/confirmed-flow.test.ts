// Confirmed flows: the callback stores nothing; the caller's backend confirms the user with the one-time result.
// A wrong user revokes the grant, a used result is gone, another namespace cannot confirm, and a grant nobody
// confirms is revoked after 10 minutes by the scheduler (the clock is injected).
import t from 'tap'
import { cipherContext } from '../../src/crypto/keyring.js'
import { createCaller } from '../support/fixtures.js'
import { browserGet, openStartLink, requestAuthorization, startFlowEnv } from '../support/flow.js'

let offsetMs = 0
const env = await startFlowEnv(t, { app: { background: false, now: () => new Date(Date.now() + offsetMs) } })
const { app } = env
const { prisma } = app.deps.db

/** A confirmed flow for `userId` up to the callback; answers the returnTo the browser was sent to. */
async function pendingFlow(userId: string, login = userId): Promise<URL> {
  const link = await requestAuthorization(env, { userId, confirm: true })
  const { providerUrl, cookie } = await openStartLink(link.url)
  const callback = await browserGet(await env.server.authorize(providerUrl, { login }), cookie)
  if (callback.status !== 302 || !callback.location) throw new Error(`callback answered ${callback.status}`)
  return callback.location
}

const confirm = (result: string, userId: string, headers = env.caller.headers) =>
  app.inject({ method: 'POST', url: '/authorizations/confirm', headers, payload: { result, userId } })
const connection = (userId: string) =>
  prisma.connection.findUnique({
    where: { namespace_providerId_userId: { namespace: 'default', providerId: env.providerId, userId } },
  })

/** The refresh token a parked grant holds, read the way the broker reads it. */
async function parkedRefreshToken(userId: string): Promise<string> {
  const request = await prisma.authorizationRequest.findFirstOrThrow({ where: { userId, status: 'pending' } })
  const grant = app.deps.keyring.decrypt(
    request.pendingGrantEnc as Uint8Array,
    cipherContext('authorization_requests', request.id, 'pending_grant'),
  )
  return (JSON.parse(grant) as { refreshToken: string }).refreshToken
}

t.test('confirm needs returnTo', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/authorizations',
    headers: env.caller.headers,
    payload: { provider: env.providerId, userId: 'u', confirm: true },
  })
  t.equal(res.statusCode, 400)
  t.equal(res.json().error, 'invalid_request')
})

t.test('pending, then a wrong user: 409, and the grant is revoked at the provider', async (t) => {
  const back = await pendingFlow('carol', 'carol-account')
  t.equal(back.searchParams.get('status'), 'pending')
  const result = back.searchParams.get('result') as string
  t.ok(result && result.length >= 40, 'a one-time result')
  t.equal(await connection('carol'), null, 'nothing stored yet')
  const parked = await parkedRefreshToken('carol')
  t.equal((await env.server.introspect(parked)).active, true, 'the grant exists at the provider')

  const wrong = await confirm(result, 'mallory')
  t.equal(wrong.statusCode, 409)
  t.equal(wrong.json().error, 'user_mismatch')
  t.equal((await env.server.introspect(parked)).active, false, 'revoked at the provider')
  t.equal(await connection('carol'), null, 'and nothing stored')
  t.equal(await connection('mallory'), null)
  t.equal((await confirm(result, 'carol')).statusCode, 404, 'the result is spent')
  const request = await prisma.authorizationRequest.findFirstOrThrow({ where: { userId: 'carol' } })
  t.match(request, { status: 'failed', outcome: 'user_mismatch', pendingGrantEnc: null })
})

t.test('the right user: connected, served, and the result works once', async (t) => {
  const back = await pendingFlow('dave')
  const result = back.searchParams.get('result') as string
  const other = await createCaller(app, {
    namespace: 'elsewhere',
    allowedProviders: [env.providerId],
    allowedReturnTo: [env.returnTo],
  })
  t.equal((await confirm(result, 'dave', other.headers)).statusCode, 404, 'another namespace cannot confirm it')

  const ok = await confirm(result, 'dave')
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { provider: env.providerId, userId: 'dave', status: 'connected', scope: String })
  t.ok(new Date(ok.json().expiresAt).getTime() > Date.now(), 'expiresAt')
  t.equal((await connection('dave'))?.subject, 'dave')
  const token = await app.inject({ url: `/tokens/dave?provider=${env.providerId}`, headers: env.caller.headers })
  t.equal(token.statusCode, 200)
  t.equal((await confirm(result, 'dave')).statusCode, 404, 'reused: 404')
  t.equal((await confirm('not-a-result', 'dave')).statusCode, 404, 'unknown: 404')
})

t.test('an unconfirmed grant is revoked and dropped after its lifetime', async (t) => {
  const back = await pendingFlow('erin')
  const result = back.searchParams.get('result') as string
  const parked = await parkedRefreshToken('erin')
  t.equal((await app.scheduler.tick()).claimed, 0)
  t.equal((await env.server.introspect(parked)).active, true, 'kept within its 10 minutes')

  offsetMs += 11 * 60_000
  await app.scheduler.tick()
  t.equal((await env.server.introspect(parked)).active, false, 'revoked at the provider once they are over')
  const request = await prisma.authorizationRequest.findFirstOrThrow({ where: { userId: 'erin' } })
  t.match(request, { status: 'failed', outcome: 'unconfirmed', pendingGrantEnc: null })
  t.equal((await confirm(result, 'erin')).statusCode, 404, 'too late to confirm')
  t.equal(await connection('erin'), null)
  const audit = await prisma.auditEvent.findFirst({ where: { action: 'authorization.unconfirmed_revoked' } })
  t.equal(audit?.userId, 'erin', 'audited')
})

t.test('two instances sweeping at once revoke each grant once', async (t) => {
  const backs = [await pendingFlow('f1'), await pendingFlow('f2'), await pendingFlow('f3')]
  t.equal(backs.length, 3)
  offsetMs += 11 * 60_000
  const before = env.server.stats.revocations
  const swept = await Promise.all([app.services.confirmations.sweep(), app.services.confirmations.sweep()])
  t.equal(swept[0] + swept[1], 3, 'each grant swept by one of them')
  t.equal(env.server.stats.revocations - before, 6, 'its refresh and access token revoked once each')
})

t.test('neither a result nor a parked token reaches the logs', async (t) => {
  const back = await pendingFlow('gina')
  const result = back.searchParams.get('result') as string
  const parked = await parkedRefreshToken('gina')
  t.equal((await confirm(result, 'someone-else')).statusCode, 409)
  t.ok(env.logs.lines.length > 10, `${env.logs.lines.length} log lines read`)
  t.notOk(env.logs.text.includes(result), 'no result')
  t.notOk(env.logs.text.includes(parked), 'no parked refresh token')
})
