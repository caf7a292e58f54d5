// What a failed refresh records depends on what the provider answered: an outage says so and honours Retry-After,
// garbage says it was malformed; neither condemns the connection.
import t from 'tap'
import { build } from '../helper.js'
import { expireConnections, mintUsers, startIdp } from '../support/token-fixture.js'

t.test('a 503 (or 502) with a JSON error body is an outage, with its Retry-After honoured', async (t) => {
  const { app } = await build(t, { background: false })
  const idp = await startIdp(t, app, { accessTokenTtl: 3600 })
  const [user] = await mintUsers(app, idp, ['u'])
  if (!user) throw new Error('no connection')
  const refresh = async () => {
    await expireConnections(app, [user.connectionId])
    return app.services.refresher.refresh(user.connectionId, {
      need: { kind: 'due' },
      trigger: 'admin',
      actor: 'admin',
    })
  }
  for (const status of [503, 502]) {
    idp.server.setTokenFault({ kind: 'status', status, retryAfter: 600, grantType: 'refresh_token', times: 1 })
    const before = Date.now()
    const result = await refresh()
    t.equal(result.kind, 'failed')
    const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: user.connectionId } })
    t.equal(row.status, 'active')
    t.equal(row.lastError, `provider answered HTTP ${status}`)
    t.ok((row.nextRefreshAt?.getTime() ?? 0) >= before + 600_000, 'not before Retry-After')
  }
  const garbage: [contentType: string, body: string][] = [
    ['text/html', '<html></html>'],
    ['application/json', '{"access_token":"abc","token_ty'],
  ]
  for (const [contentType, body] of garbage) {
    idp.server.setTokenFault({ kind: 'garbage', status: 200, contentType, body, grantType: 'refresh_token', times: 1 })
    t.equal((await refresh()).kind, 'failed')
    const row = await app.deps.db.prisma.connection.findUniqueOrThrow({ where: { id: user.connectionId } })
    t.match(row, { status: 'active', lastError: /^provider sent a malformed response/ }, body)
  }
})
