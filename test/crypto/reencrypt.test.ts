import { randomUUID } from 'node:crypto'
import t from 'tap'
import { cipherContext, Keyring } from '../../src/crypto/keyring.js'
import {
  columnName,
  encryptedColumns,
  reencryptAll,
  type EncryptedColumn,
  type EncryptedColumnName,
  type RawSql,
} from '../../src/crypto/reencrypt.js'
import type { PrismaClient } from '../../src/db/generated/client.js'
import { testKeys } from '../helper.js'
import { openTestDatabase } from '../support/database.js'

const oldRing = new Keyring([testKeys.primary])
const rotatedRing = new Keyring([testKeys.secondary, testKeys.primary])

type Plaintexts = Map<EncryptedColumnName, Map<string, string>>

/** Seals `plaintext` for one cell and remembers it, so the test can check every cell afterwards. */
function sealer(plaintexts: Plaintexts) {
  return (ring: Keyring, table: string, id: string, column: string, plaintext: string) => {
    const name = `${table}.${column}` as EncryptedColumnName
    if (!plaintexts.has(name)) plaintexts.set(name, new Map())
    plaintexts.get(name)?.set(id, plaintext)
    return ring.encrypt(plaintext, cipherContext(table, id, column))
  }
}

function createApiClient(prisma: PrismaClient, name: string) {
  return prisma.apiClient.create({ data: { name, keyHash: Buffer.from(randomUUID()), keyPrefix: 'tbk_test' } })
}

/**
 * Rows of every kind: most under the old key, one per table already under the new key, some without a value.
 * Counts per column (with a value / under the old key): client_secret 4/3, fallback_client_secrets 2/1,
 * private_key 2/1, access_token 5/4, refresh_token 4/3, code_verifier 3/2, pending_grant 2/1, secret 2/1.
 */
async function seedEverything(prisma: PrismaClient): Promise<Plaintexts> {
  const plaintexts: Plaintexts = new Map()
  const seal = sealer(plaintexts)
  const ringFor = (i: number) => (i === 0 ? rotatedRing : oldRing)

  for (let i = 0; i < 4; i++) {
    const id = `provider-${i}`
    const clientSecretEnc = seal(ringFor(i), 'providers', id, 'client_secret', `client-secret-${i}`)
    // a rotation in progress and a private_key_jwt key on two of them
    const fallbackClientSecretsEnc =
      i < 2 ? seal(ringFor(i), 'providers', id, 'fallback_client_secrets', `["next-secret-${i}"]`) : null
    const privateKeyEnc = i < 2 ? seal(ringFor(i), 'providers', id, 'private_key', `pem-${i}`) : null
    await prisma.provider.create({
      data: { id, clientId: `client-${i}`, clientSecretEnc, fallbackClientSecretsEnc, privateKeyEnc },
    })
  }
  await prisma.provider.create({ data: { id: 'public-client', clientId: 'public' } })

  const client = await createApiClient(prisma, 'caller')

  for (let i = 0; i < 5; i++) {
    const id = randomUUID()
    await prisma.connection.create({
      data: {
        id,
        providerId: 'provider-1',
        userId: `user-${i}`,
        accessTokenEnc: seal(ringFor(i), 'connections', id, 'access_token', `access-${i}`),
        // the last connection has no refresh token
        refreshTokenEnc: i < 4 ? seal(ringFor(i), 'connections', id, 'refresh_token', `refresh-${i}`) : null,
      },
    })
  }

  for (let i = 0; i < 4; i++) {
    const id = `authz-${i}`
    const codeVerifierEnc = i < 3 ? seal(ringFor(i), 'authorization_requests', id, 'code_verifier', `pkce-${i}`) : null
    // a confirmed flow's grant waiting for its confirmation
    const pendingGrantEnc =
      i < 2 ? seal(ringFor(i), 'authorization_requests', id, 'pending_grant', `{"accessToken":"at-${i}"}`) : null
    await prisma.authorizationRequest.create({
      data: {
        id,
        providerId: 'provider-1',
        clientId: client.id,
        userId: 'user-0',
        expiresAt: new Date(Date.now() + 600_000),
        codeVerifierEnc,
        pendingGrantEnc,
      },
    })
  }

  for (let i = 0; i < 2; i++) {
    const id = randomUUID()
    const secretEnc = seal(ringFor(i), 'webhook_endpoints', id, 'secret', `whsec-${i}`)
    // one endpoint per client
    const owner = i === 0 ? client : await createApiClient(prisma, `caller-${i}`)
    await prisma.webhookEndpoint.create({ data: { id, clientId: owner.id, url: 'https://hooks.example/', secretEnc } })
  }
  return plaintexts
}

async function storedValues(db: RawSql, { table, storedIn }: EncryptedColumn) {
  return db.$queryRawUnsafe<{ id: string; value: Uint8Array }[]>(
    `SELECT id::text AS id, "${storedIn}" AS value FROM "${table}" WHERE "${storedIn}" IS NOT NULL`,
  )
}

const expectedCounts = {
  'providers.client_secret': { scanned: 4, reencrypted: 3 },
  'providers.fallback_client_secrets': { scanned: 2, reencrypted: 1 },
  'providers.private_key': { scanned: 2, reencrypted: 1 },
  'connections.access_token': { scanned: 5, reencrypted: 4 },
  'connections.refresh_token': { scanned: 4, reencrypted: 3 },
  'authorization_requests.code_verifier': { scanned: 3, reencrypted: 2 },
  'authorization_requests.pending_grant': { scanned: 2, reencrypted: 1 },
  'webhook_endpoints.secret': { scanned: 2, reencrypted: 1 },
}

t.test('every stored value moves to the new primary key and still reads', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  const plaintexts = await seedEverything(db.prisma)

  // a batch of 2 makes every column span several pages, one of them ending exactly on a page boundary
  const counts = await reencryptAll(db.prisma, rotatedRing, { batchSize: 2 })
  t.same(counts, expectedCounts)

  for (const target of encryptedColumns) {
    const name = columnName(target)
    const rows = await storedValues(db.prisma, target)
    t.equal(rows.length, expectedCounts[name].scanned, `${name}: every value is still there`)
    for (const { id, value } of rows) {
      const context = cipherContext(target.table, id, target.column)
      t.equal(rotatedRing.keyIdOf(value), 'k2', `${name} of ${id} is under the new key`)
      t.equal(rotatedRing.decrypt(value, context), plaintexts.get(name)?.get(id), `${name} of ${id} reads back`)
    }
  }

  const again = await reencryptAll(db.prisma, rotatedRing)
  for (const [name, { scanned }] of Object.entries(expectedCounts)) {
    t.same(again[name as EncryptedColumnName], { scanned, reencrypted: 0 }, `${name}: nothing left to move`)
  }
})

t.test('a value written while the routine runs is kept, not overwritten', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  const id = randomUUID()
  await db.prisma.provider.create({ data: { id: 'acme', clientId: 'acme' } })
  const context = cipherContext('connections', id, 'refresh_token')
  await db.prisma.connection.create({
    data: {
      id,
      providerId: 'acme',
      userId: 'user-1',
      accessTokenEnc: oldRing.encrypt('access', cipherContext('connections', id, 'access_token')),
      refreshTokenEnc: oldRing.encrypt('refresh-before', context),
    },
  })
  const rotatedMeanwhile = rotatedRing.encrypt('refresh-after', context)

  // a token refresh lands between the routine's read and its write of the refresh token
  let refreshed = false
  const racing: RawSql = {
    $queryRawUnsafe: (query, ...values) => db.prisma.$queryRawUnsafe(query, ...values),
    async $executeRawUnsafe(query, ...values) {
      if (!refreshed && query.includes('"refresh_token_enc"')) {
        refreshed = true
        await db.prisma.connection.update({ where: { id }, data: { refreshTokenEnc: rotatedMeanwhile } })
      }
      return db.prisma.$executeRawUnsafe(query, ...values)
    },
  }
  const counts = await reencryptAll(racing, rotatedRing)
  t.ok(refreshed, 'the refresh happened during the run')
  t.same(counts['connections.refresh_token'], { scanned: 1, reencrypted: 0 })
  t.same(counts['connections.access_token'], { scanned: 1, reencrypted: 1 })

  const row = await db.prisma.connection.findUniqueOrThrow({ where: { id } })
  t.equal(rotatedRing.decrypt(row.refreshTokenEnc as Uint8Array, context), 'refresh-after', 'the new token survives')
})

t.test('a value no key of the ring can read stops the run and names its row', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  const retired = new Keyring([{ id: 'k0', key: Buffer.alloc(32, 7) }])
  const clientSecretEnc = retired.encrypt('s', cipherContext('providers', 'acme', 'client_secret'))
  await db.prisma.provider.create({ data: { id: 'acme', clientId: 'acme', clientSecretEnc } })
  await t.rejects(reencryptAll(db.prisma, rotatedRing), /providers\.client_secret of row acme: unknown key id "k0"/)
})

t.test('the batch size must be a positive whole number', async (t) => {
  const never: RawSql = {
    $queryRawUnsafe: () => Promise.reject(new Error('no query expected')),
    $executeRawUnsafe: () => Promise.reject(new Error('no query expected')),
  }
  await t.rejects(reencryptAll(never, rotatedRing, { batchSize: 0 }), RangeError)
  await t.rejects(reencryptAll(never, rotatedRing, { batchSize: 1.5 }), RangeError)
})
