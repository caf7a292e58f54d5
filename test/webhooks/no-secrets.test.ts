import t from 'tap'
import { Secret } from '../../src/crypto/secret.js'
import { sealTokens } from '../../src/services/connection-tokens.js'
import { ADMIN_TOKEN } from '../helper.js'
import { ACCESS_TOKEN, changeStatus, REFRESH_TOKEN } from './fixtures.js'
import { webhookWorld } from './world.js'

const CLIENT_SECRET = 'provider-client-secret-DO-NOT-LEAK'

t.test('no token or secret reaches a payload, a header, the delivery log or the logs', async (t) => {
  const w = await webhookWorld(t, { config: { LOG_LEVEL: 'debug' } })
  const { prisma } = w.db
  const { keyring } = w.app.deps
  const sealed = sealTokens(keyring, w.connectionId, {
    accessToken: new Secret(ACCESS_TOKEN),
    refreshToken: new Secret(REFRESH_TOKEN),
    tokenType: 'Bearer',
  })
  await prisma.connection.update({ where: { id: w.connectionId }, data: sealed })
  await prisma.provider.update({
    where: { id: 'acme' },
    data: { clientSecretEnc: keyring.encrypt(CLIENT_SECRET, 'x|y|z') },
  })

  // a careless caller of the outbox: credentials under any name are dropped, the fixed fields cannot be overridden
  const detail = {
    error: 'invalid_grant',
    failureCount: 3,
    accessToken: ACCESS_TOKEN,
    refresh_token: REFRESH_TOKEN,
    idToken: ACCESS_TOKEN,
    clientSecret: CLIENT_SECRET,
    client_secret: CLIENT_SECRET,
    apiKey: w.caller.apiKey,
    signingSecret: w.secret,
    code: 'an-authorization-code',
    code_verifier: 'a-verifier',
    password: 'hunter2',
    authorization: `Bearer ${ACCESS_TOKEN}`,
    status: 'hijacked',
    userId: 'someone-else',
  }
  w.receiver.answer(500)
  for (const type of ['connection.refresh_failed', 'connection.reauthorization_required'] as const) {
    await changeStatus(w.db, w.connectionId, type, 'reauthorization_required', w.now(), detail)
  }
  await w.app.webhookSender.deliverDue()
  w.advance(60_000)
  await w.app.webhookSender.deliverDue()
  t.equal(w.receiver.received.length, 3)

  for (const request of w.receiver.received) {
    t.same(w.verified(request).data, {
      connectionId: w.connectionId,
      namespace: 'default',
      provider: 'acme',
      userId: 'user-1',
      status: 'reauthorization_required',
      error: 'invalid_grant',
      failureCount: 3,
    })
  }
  const list = await w.app.inject({
    method: 'GET',
    url: '/admin/webhook-deliveries',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  const stored = await prisma.$queryRaw<
    Array<{ row: string }>
  >`SELECT row_to_json(d)::text AS row FROM webhook_deliveries d`
  const everything = {
    requests: JSON.stringify(w.receiver.received),
    deliveryLog: stored.map((r) => r.row).join('\n'),
    adminList: list.body,
    logs: w.logs.text,
  }
  const secrets = {
    ACCESS_TOKEN,
    REFRESH_TOKEN,
    CLIENT_SECRET,
    apiKey: w.caller.apiKey,
    signingSecret: w.secret.slice('whsec_'.length),
    code: 'an-authorization-code',
    verifier: 'a-verifier',
    password: 'hunter2',
  }
  for (const [where, text] of Object.entries(everything)) {
    t.ok(text.length > 0, `${where} was scanned`)
    for (const [name, secret] of Object.entries(secrets)) t.notOk(text.includes(secret), `${name} not in ${where}`)
  }
})
