// A client secret rotation against oidc-provider: the broker holds a list of secrets, the provider accepts only the
// second; the refused one costs no failed refresh or code exchange, and the accepted one is moved first.
import t from 'tap'
import { openAccessToken } from '../../src/services/connection-tokens.js'
import { adminHeaders, connectUser, startFlowEnv, type FlowEnv } from '../support/flow.js'
import { scrape } from '../support/metrics.js'

const replaceSecrets = (env: FlowEnv, clientSecret: string[]) =>
  env.app.inject({
    method: 'PUT',
    url: `/admin/providers/${env.providerId}`,
    headers: adminHeaders,
    payload: {
      clientId: `broker-${env.providerId}`,
      issuer: env.server.issuer,
      scopes: ['openid', 'offline_access'],
      clientSecret,
    },
  })

t.test('a refused client secret is followed by the next one without a failed refresh, then promoted', async (t) => {
  const env = await startFlowEnv(t, { app: { background: false } })
  const { app, server } = env
  const { prisma } = app.deps.db
  const { connection } = await connectUser(env, { userId: 'alice' })

  // the operator lists the new secret first before the provider knows it (the provider still accepts the old one)
  const replaced = await replaceSecrets(env, ['next-secret-not-at-the-provider', env.clientSecret])
  t.equal(replaced.statusCode, 200)
  t.match(replaced.json(), { hasClientSecret: true, hasFallbackClientSecrets: true })
  t.notMatch(replaced.body, /next-secret|broker-secret/)

  server.resetStats()
  const refreshed = await app.inject({
    method: 'POST',
    url: `/admin/connections/${connection.id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(refreshed.statusCode, 200, refreshed.body)
  t.equal(server.stats.tokenRequests.refresh_token, 2, 'the first secret was refused, the second accepted')
  const row = await prisma.connection.findUniqueOrThrow({ where: { id: connection.id } })
  t.not(openAccessToken(app.deps.keyring, row).reveal(), openAccessToken(app.deps.keyring, connection).reveal())
  t.match(row, { status: 'active', failureCount: 0, lastError: null })

  // no failure anywhere: metrics, audit, the provider's credentials status
  const metrics = await scrape(app)
  t.equal(metrics.value('token_broker_refreshes_total{trigger="admin",outcome="success"}'), 1)
  t.notMatch(metrics.text, /outcome="(invalid_client|transient|invalid_grant|rejected)"/)
  const actions = (await prisma.auditEvent.findMany({ orderBy: { id: 'asc' } })).map((event) => event.action)
  t.notOk(actions.includes('connection.refresh_failed'))
  t.notOk(actions.includes('provider.credentials_rejected'))
  const promotion = await prisma.auditEvent.findFirstOrThrow({ where: { action: 'provider.client_secret_promoted' } })
  t.match(promotion, { actor: 'system', subjectId: env.providerId, detail: { from: 2, secrets: 2 } })

  // the accepted secret is first now: the next refresh needs one request
  const provider = await prisma.provider.findUniqueOrThrow({ where: { id: env.providerId } })
  t.same(app.deps.providers.clientSecrets(provider), [env.clientSecret, 'next-secret-not-at-the-provider'])
  t.equal(provider.credentialsStatus, 'ok')
  server.resetStats()
  const again = await app.inject({
    method: 'POST',
    url: `/admin/connections/${connection.id}/refresh`,
    headers: adminHeaders,
  })
  t.equal(again.statusCode, 200)
  t.equal(server.stats.tokenRequests.refresh_token, 1, 'the promoted secret is tried first')
})

t.test('the code exchange follows the list too; a list of refused secrets still fails', async (t) => {
  const env = await startFlowEnv(t, { app: { background: false } })
  const { app, server } = env
  t.equal((await replaceSecrets(env, ['wrong-1', 'wrong-2', env.clientSecret])).statusCode, 200)
  await connectUser(env, { userId: 'bob' })
  t.equal(server.stats.tokenRequests.authorization_code, 3)
  const provider = await app.deps.db.prisma.provider.findUniqueOrThrow({ where: { id: env.providerId } })
  t.same(app.deps.providers.clientSecrets(provider), [env.clientSecret, 'wrong-1', 'wrong-2'])

  t.equal((await replaceSecrets(env, ['wrong-1', 'wrong-2'])).statusCode, 200)
  await t.rejects(connectUser(env, { userId: 'carol' }), /exchange_failed/)
  const refused = await app.deps.db.prisma.provider.findUniqueOrThrow({ where: { id: env.providerId } })
  t.equal(refused.credentialsStatus, 'invalid_client', 'refused by every secret: flagged')

  const duplicate = await replaceSecrets(env, ['a', 'a'])
  t.match(duplicate.json(), { error: 'invalid_request', message: /appears twice/ })
  const tooMany = await replaceSecrets(env, ['1', '2', '3', '4', '5', '6'])
  t.equal(tooMany.statusCode, 400)
})
