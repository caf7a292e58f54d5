import t, { type Test } from 'tap'
import { cipherContext, Keyring } from '../../src/crypto/keyring.js'
import { ADMIN_TOKEN, build, testKeys } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const rotated = [testKeys.secondary, testKeys.primary]

async function seedUnderOldKey(t: Test) {
  const old = await build(t)
  const { prisma } = old.db
  await createProvider(old.app, { id: 'acme' })
  await prisma.provider.update({
    where: { id: 'acme' },
    data: {
      clientSecretEnc: old.app.deps.keyring.encrypt('acme-secret', cipherContext('providers', 'acme', 'client_secret')),
    },
  })
  for (const userId of ['alice', 'bob']) {
    await seedConnection(old.app, { providerId: 'acme', userId })
  }
  return old.db
}

const reencrypt = (app: Awaited<ReturnType<typeof build>>['app'], headers = admin) =>
  app.inject({ method: 'POST', url: '/admin/keys/reencrypt', headers })

t.test('moves every secret to the primary key, reports counts and audits', async (t) => {
  const db = await seedUnderOldKey(t)
  const { app } = await build(t, { db, config: { ENCRYPTION_KEYS: rotated } })

  const res = await reencrypt(app)
  t.equal(res.statusCode, 200)
  t.match(res.json(), {
    primaryKeyId: 'k2',
    scanned: 5,
    reencrypted: 5,
    columns: {
      'providers.client_secret': { scanned: 1, reencrypted: 1 },
      'connections.access_token': { scanned: 2, reencrypted: 2 },
      'connections.refresh_token': { scanned: 2, reencrypted: 2 },
      'authorization_requests.code_verifier': { scanned: 0, reencrypted: 0 },
    },
  })

  const onlyNewKey = new Keyring([testKeys.secondary])
  const provider = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'acme' } })
  t.equal(
    onlyNewKey.decrypt(provider.clientSecretEnc as Uint8Array, cipherContext('providers', 'acme', 'client_secret')),
    'acme-secret',
  )
  for (const row of await db.prisma.connection.findMany()) {
    t.equal(onlyNewKey.keyIdOf(row.accessTokenEnc), 'k2')
    t.equal(onlyNewKey.keyIdOf(row.refreshTokenEnc as Uint8Array), 'k2')
  }

  const again = await reencrypt(app)
  t.match(again.json(), { scanned: 5, reencrypted: 0 }, 'a second run has nothing to move')

  const audit = await db.prisma.auditEvent.findMany({ where: { subjectType: 'keyring' }, orderBy: { id: 'asc' } })
  t.strictSame(
    audit.map((e) => [e.actor, e.action, e.subjectId]),
    [
      ['admin', 'keyring.reencrypted', 'k2'],
      ['admin', 'keyring.reencrypted', 'k2'],
    ],
  )
  t.match(audit[0]?.detail, { scanned: 5, reencrypted: 5 })
})

t.test('a value under a key that left the ring stops the run with a conflict', async (t) => {
  const db = await seedUnderOldKey(t)
  const { app } = await build(t, { db, config: { ENCRYPTION_KEYS: [testKeys.secondary] } })
  const res = await reencrypt(app)
  t.equal(res.statusCode, 409)
  t.equal(res.json().error, 'conflict')
  t.match(res.json().message, /unknown key id "k1"/)
  const audit = await db.prisma.auditEvent.findFirst({ where: { action: 'keyring.reencrypt_failed' } })
  t.ok(audit, 'the failed run is audited')
})

t.test('needs the admin token', async (t) => {
  const { app } = await build(t)
  t.equal((await reencrypt(app, {} as typeof admin)).statusCode, 401)
})
