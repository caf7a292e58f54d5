import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'
import { startIdp } from '../support/token-fixture.js'

/** A fetch that records when each client-credentials grant was sent, whichever instance sent it. */
function grantRecorder() {
  const grants: number[] = []
  const fetch: typeof globalThis.fetch = async (input, init) => {
    if (init?.body instanceof URLSearchParams && init.body.get('grant_type') === 'client_credentials') {
      grants.push(Date.now())
    }
    return globalThis.fetch(input, init)
  }
  return { grants, fetch }
}

t.test('a machine connection is created, served, replaced and deleted', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { scopes: ['reports.read'] })
  const caller = await createCaller(app, { namespace: 'billing', allowedProviders: [idp.providerId] })
  const stranger = await createCaller(app, { namespace: 'other', allowedProviders: [idp.providerId] })
  const url = `/admin/machine-connections/${idp.providerId}/reporting-job`

  const created = await app.inject({
    method: 'PUT',
    url,
    headers: adminHeaders,
    payload: { namespace: 'billing', scopes: ['reports.read'] },
  })
  t.equal(created.statusCode, 201, created.body)
  const view = created.json()
  t.match(view, { namespace: 'billing', provider: idp.providerId, userId: 'reporting-job', status: 'active' })
  const shown = await app.inject({ url: `/admin/connections/${view.id}`, headers: adminHeaders })
  t.equal(shown.json().grantType, 'client_credentials', 'the admin view says how it is renewed')
  t.equal(shown.json().hasRefreshToken, false)
  const listed = await app.inject({ url: '/admin/connections?namespace=billing', headers: adminHeaders })
  t.same(
    listed.json().items.map((item: { grantType: string }) => item.grantType),
    ['client_credentials'],
  )
  t.equal(idp.server.stats.tokenRequests.client_credentials, 1, 'one grant at the provider')

  const served = await app.inject({ url: `/tokens/reporting-job?provider=${idp.providerId}`, headers: caller.headers })
  t.equal(served.statusCode, 200, served.body)
  const token = served.json().accessToken as string
  const introspected = await idp.server.introspect(token)
  t.equal(introspected.active, true, 'the served token is one the provider issued')
  t.equal(introspected.client_id, `broker-${idp.providerId}`, 'to the broker’s own client, for no user')
  t.equal(introspected.sub, undefined)

  const elsewhere = await app.inject({
    url: `/tokens/reporting-job?provider=${idp.providerId}`,
    headers: stranger.headers,
  })
  t.equal(elsewhere.statusCode, 404, 'another namespace does not see it')

  const replaced = await app.inject({ method: 'PUT', url, headers: adminHeaders, payload: { namespace: 'billing' } })
  t.equal(replaced.statusCode, 200, 'a second PUT replaces it')
  t.equal(replaced.json().id, view.id, 'in place')
  t.equal(await app.deps.db.prisma.connection.count(), 1)

  const audit = await app.deps.db.prisma.auditEvent.findMany({ where: { subjectId: view.id }, orderBy: { id: 'asc' } })
  t.same(
    audit.map((event) => event.action),
    ['machine_connection.created', 'machine_connection.updated'],
  )

  const wrongNamespace = await app.inject({ method: 'DELETE', url, headers: adminHeaders })
  t.equal(wrongNamespace.statusCode, 404, 'DELETE looks in the namespace given (default: default)')
  const deleted = await app.inject({ method: 'DELETE', url: `${url}?namespace=billing`, headers: adminHeaders })
  t.equal(deleted.statusCode, 204)
  const gone = await app.inject({ url: `/tokens/reporting-job?provider=${idp.providerId}`, headers: caller.headers })
  t.equal(gone.statusCode, 404)
})

t.test('a provider that refuses the grant: a clear error and nothing stored', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  idp.server.setTokenFault({ kind: 'status', status: 503, grantType: 'client_credentials', times: 1 })
  const failing = await app.inject({
    method: 'PUT',
    url: `/admin/machine-connections/${idp.providerId}/job`,
    headers: adminHeaders,
    payload: {},
  })
  t.equal(failing.statusCode, 503, failing.body)
  t.equal(failing.json().error, 'provider_unavailable')

  const wrongSecret = await build(t, { background: false })
  const badIdp = await startIdp(t, wrongSecret.app, { brokerClientSecret: 'not-the-secret' })
  const refusedClient = await wrongSecret.app.inject({
    method: 'PUT',
    url: `/admin/machine-connections/${badIdp.providerId}/job`,
    headers: adminHeaders,
    payload: {},
  })
  t.equal(refusedClient.statusCode, 502, refusedClient.body)
  t.equal(refusedClient.json().error, 'provider_refused')
  t.notMatch(refusedClient.body, 'not-the-secret')

  const unknown = await app.inject({
    method: 'PUT',
    url: '/admin/machine-connections/nope/job',
    headers: adminHeaders,
    payload: {},
  })
  t.equal(unknown.statusCode, 404)
  t.equal(await app.deps.db.prisma.connection.count(), 0, 'nothing stored')
  t.equal(await wrongSecret.app.deps.db.prisma.connection.count(), 0, 'nothing stored')
})

t.test('two instances with running schedulers renew a machine connection once per cycle', async (t) => {
  const recorder = grantRecorder()
  const options = {
    config: { REFRESH_INTERVAL_SECONDS: 1 },
    fetch: recorder.fetch,
    timing: { providerTimeoutSeconds: 5 },
  }
  const a = await build(t, { ...options, instanceId: 'a' })
  const b = await build(t, { ...options, instanceId: 'b', db: a.db })
  // 4-second tokens: renewed 2 seconds after each grant (half their lifetime)
  const idp = await startIdp(t, a.app, { accessTokenTtl: 4 })
  const caller = await createCaller(a.app, { allowedProviders: [idp.providerId] })
  const put = await a.app.inject({
    method: 'PUT',
    url: `/admin/machine-connections/${idp.providerId}/sync`,
    headers: adminHeaders,
    payload: {},
  })
  t.equal(put.statusCode, 201, put.body)
  const first = await b.app.inject({ url: `/tokens/sync?provider=${idp.providerId}`, headers: caller.headers })

  await sleep(9_000)
  const grants = idp.server.stats.tokenRequests.client_credentials ?? 0
  const renewals = await a.app.deps.db.prisma.auditEvent.count({ where: { action: 'connection.refreshed' } })
  t.ok(renewals >= 3, `renewed by the schedulers (${renewals} times in 9 s)`)
  t.equal(grants, renewals + 1, 'every grant at the provider was a renewal stored, none made twice')
  const gaps = recorder.grants.slice(1).map((at, i) => at - (recorder.grants[i] as number))
  t.ok(
    gaps.every((gap) => gap >= 1_500),
    `no two grants in one cycle (gaps ${gaps.join(', ')} ms)`,
  )

  const actors = await a.app.deps.db.prisma.auditEvent.findMany({ where: { action: 'connection.refreshed' } })
  t.ok(
    actors.every((event) => event.actor === 'system'),
    'by the scheduler',
  )
  const row = await a.app.deps.db.prisma.connection.findFirstOrThrow()
  t.equal(row.failureCount, 0)
  t.equal(row.refreshTokenEnc, null, 'no refresh token is ever stored')

  const now = await a.app.inject({ url: `/tokens/sync?provider=${idp.providerId}`, headers: caller.headers })
  t.equal(now.statusCode, 200)
  t.not(now.json().accessToken, first.json().accessToken, 'the served token is a renewed one')
  t.equal((await idp.server.introspect(now.json().accessToken as string)).active, true)
})
