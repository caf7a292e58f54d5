import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, createCaller } from '../support/fixtures.js'
import { signIn, startIdp } from '../support/token-fixture.js'

t.test('a refresh token the provider issued is imported, refreshed at once, served and refreshed again', async (t) => {
  const { app, logs } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { namespace: 'billing', allowedProviders: [idp.providerId] })
  const issued = await signIn(idp, 'alice')
  idp.server.resetStats()

  const res = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: { namespace: 'billing', provider: idp.providerId, userId: 'alice', refreshToken: issued.refresh_token },
  })
  t.equal(res.statusCode, 201, res.body)
  t.match(res.json(), {
    namespace: 'billing',
    userId: 'alice',
    status: 'active',
    hasRefreshToken: true,
    grantType: 'authorization_code',
  })
  t.ok(res.json().lastRefreshedAt, 'refreshed before it was stored')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'one refresh at the provider')
  t.notMatch(res.body, issued.refresh_token as string, 'no token in the answer')

  const served = await app.inject({ url: `/tokens/alice?provider=${idp.providerId}`, headers: caller.headers })
  t.equal(served.statusCode, 200, served.body)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'served without another refresh')
  const introspected = await idp.server.introspect(served.json().accessToken as string)
  t.equal(introspected.active, true)
  t.equal(introspected.sub, 'alice', 'the user’s own token')

  const forced = await app.inject({
    method: 'POST',
    url: `/admin/connections/${res.json().id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(forced.statusCode, 200, forced.body)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 2, 'the rotated refresh token that was stored works')
  t.equal(idp.server.stats.refreshTokenReuse, 0)

  const again = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: { namespace: 'billing', provider: idp.providerId, userId: 'alice', refreshToken: issued.refresh_token },
  })
  t.equal(again.statusCode, 200, 'the same import again: left as it is')
  t.equal(again.json().id, res.json().id)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 2, 'the consumed refresh token is not presented again')
  const after = await app.inject({
    method: 'POST',
    url: `/admin/connections/${res.json().id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(after.statusCode, 200, 'and the grant is still alive')

  const audit = await app.deps.db.prisma.auditEvent.findMany({ where: { action: 'connection.imported' } })
  t.equal(audit.length, 1)
  t.match(audit[0]?.detail, { replaced: false, refreshed: true })
  t.notMatch(logs.text, issued.refresh_token as string, 'no token in the logs')
})

t.test('a usable access token is stored as it is, without a refresh', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const caller = await createCaller(app, { allowedProviders: [idp.providerId] })
  const issued = await signIn(idp, 'bob')
  idp.server.resetStats()
  const expiresAt = new Date(Date.now() + 30 * 60_000).toISOString()
  const res = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: {
      provider: idp.providerId,
      userId: 'bob',
      refreshToken: issued.refresh_token,
      accessToken: issued.access_token,
      expiresAt,
      scope: 'openid offline_access',
      subject: 'bob',
      metadata: { tenant: 'acme' },
    },
  })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.json().expiresAt, expiresAt)
  t.equal(res.json().lastRefreshedAt, null)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 0, 'no refresh')
  const served = await app.inject({ url: `/tokens/bob?provider=${idp.providerId}`, headers: caller.headers })
  t.equal(served.json().accessToken, issued.access_token, 'the imported access token is served')
  t.same(served.json().metadata, { tenant: 'acme' })

  const soon = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: {
      provider: idp.providerId,
      userId: 'carol',
      refreshToken: (await signIn(idp, 'carol')).refresh_token,
      accessToken: 'about-to-expire',
      expiresAt: new Date(Date.now() + 10_000).toISOString(),
    },
  })
  t.equal(soon.statusCode, 201, soon.body)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'an access token about to expire is refreshed first')
})

t.test('a refresh token the provider refuses is refused, with nothing stored', async (t) => {
  const { app, logs } = await build(t, { background: false })
  const idp = await startIdp(t, app)
  const garbage = 'not-a-refresh-token-0123456789'
  const res = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: { provider: idp.providerId, userId: 'mallory', refreshToken: garbage },
  })
  t.equal(res.statusCode, 409, res.body)
  t.equal(res.json().error, 'reauthorization_required')
  t.notMatch(res.body, garbage)
  t.equal(await app.deps.db.prisma.connection.count(), 0, 'nothing stored')
  const refused = await app.deps.db.prisma.auditEvent.findMany({ where: { action: 'connection.import_refused' } })
  t.equal(refused.length, 1, 'the refusal is audited')
  t.equal(refused[0]?.userId, 'mallory')
  t.notMatch(logs.text, garbage)

  const unknown = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: { provider: 'nope', userId: 'x', refreshToken: 'y' },
  })
  t.equal(unknown.statusCode, 404)
  const typo = await app.inject({
    method: 'POST',
    url: '/admin/connections/import',
    headers: adminHeaders,
    payload: { provider: idp.providerId, userId: 'x', refresh_token: 'y' },
  })
  t.equal(typo.statusCode, 400)
  t.equal(await app.deps.db.prisma.connection.count(), 0)
})

t.test('the same import sent to two instances at once presents the refresh token once', async (t) => {
  const first = await build(t, { background: false })
  const second = await build(t, { background: false, db: first.db })
  const idp = await startIdp(t, first.app)
  const issued = await signIn(idp, 'carol')
  idp.server.resetStats()

  const payload = { provider: idp.providerId, userId: 'carol', refreshToken: issued.refresh_token }
  const answers = await Promise.all(
    [first.app, second.app, first.app].map((app) =>
      app.inject({ method: 'POST', url: '/admin/connections/import', headers: adminHeaders, payload }),
    ),
  )
  t.same(answers.map((res) => res.statusCode).sort(), [200, 200, 201], answers.map((res) => res.body).join('\n'))
  t.same(new Set(answers.map((res) => res.json().id)).size, 1, 'one connection')
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1, 'the imported refresh token presented once')
  t.equal(idp.server.stats.refreshTokenReuse, 0, 'no refresh token used twice')
  const claims = await first.db.sql.rows<{ count: number }>({
    text: 'SELECT count(*)::int AS count FROM import_claims',
    values: [],
  })
  t.same(claims, [{ count: 0 }], 'no claim left behind')

  const forced = await second.app.inject({
    method: 'POST',
    url: `/admin/connections/${answers[0]?.json().id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(forced.statusCode, 200, 'the grant is alive: ' + forced.body)
})

t.test('an import claimed elsewhere is waited for; one whose claim expired goes ahead', async (t) => {
  const { app, db } = await build(t, { background: false, timing: { waitMs: 300 } })
  const idp = await startIdp(t, app)
  const issued = await signIn(idp, 'dave')
  idp.server.resetStats()
  const hold = (expiresAt: Date) =>
    db.sql.rows({
      text: `INSERT INTO import_claims (namespace, provider_id, user_id, owner, expires_at)
        VALUES ('default', $1, 'dave', 'another-instance/1', $2)
        ON CONFLICT (namespace, provider_id, user_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      values: [idp.providerId, expiresAt],
    })
  const payload = { provider: idp.providerId, userId: 'dave', refreshToken: issued.refresh_token }
  const send = () => app.inject({ method: 'POST', url: '/admin/connections/import', headers: adminHeaders, payload })

  await hold(new Date(Date.now() + 60_000))
  const waited = await send()
  t.equal(waited.statusCode, 409, waited.body)
  t.same(waited.json(), { error: 'conflict', message: 'another import of this connection is in progress; try again' })
  t.equal(idp.server.stats.tokenRequests.refresh_token, 0, 'the token is not presented while another holds it')

  await hold(new Date(Date.now() - 1_000))
  const imported = await send()
  t.equal(imported.statusCode, 201, imported.body)
  t.equal(idp.server.stats.tokenRequests.refresh_token, 1)
})
