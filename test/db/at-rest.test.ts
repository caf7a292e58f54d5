import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { cipherContext, Keyring } from '../../src/crypto/keyring.js'
import type { PrismaClient } from '../../src/db/generated/client.js'
import { testKeys } from '../helper.js'
import { openTestDatabase } from '../support/database.js'

const ring = new Keyring([testKeys.primary])
const tables = ['providers', 'connections', 'authorization_requests'] as const

/** Distinctive values, so that any trace of them in the database is found. */
function knownValues() {
  const tag = randomBytes(6).toString('hex')
  return {
    // stored in clear on purpose: proves each reading method sees the rows' contents
    userId: `user-in-clear-${tag}`,
    secrets: {
      accessToken: `access-token-${tag}-Zq9`,
      refreshToken: `refresh-token-${tag}-Wx7`,
      clientSecret: `client-secret-${tag}-Yv3`,
      codeVerifier: `pkce-verifier-${tag}-Ur5`,
    },
  }
}

type Known = ReturnType<typeof knownValues>

async function storeEverything(prisma: PrismaClient, { userId, secrets }: Known) {
  const connectionId = randomUUID()
  const seal = (table: string, id: string, column: string, value: string) =>
    ring.encrypt(value, cipherContext(table, id, column))
  await prisma.provider.create({
    data: {
      id: 'acme',
      clientId: 'acme-client',
      clientSecretEnc: seal('providers', 'acme', 'client_secret', secrets.clientSecret),
    },
  })
  const client = await prisma.apiClient.create({
    data: { name: 'caller', keyHash: randomBytes(32), keyPrefix: 'tbk_test' },
  })
  await prisma.connection.create({
    data: {
      id: connectionId,
      providerId: 'acme',
      userId,
      accessTokenEnc: seal('connections', connectionId, 'access_token', secrets.accessToken),
      refreshTokenEnc: seal('connections', connectionId, 'refresh_token', secrets.refreshToken),
    },
  })
  await prisma.authorizationRequest.create({
    data: {
      id: 'authz-1',
      providerId: 'acme',
      clientId: client.id,
      userId,
      expiresAt: new Date(Date.now() + 600_000),
      codeVerifierEnc: seal('authorization_requests', 'authz-1', 'code_verifier', secrets.codeVerifier),
    },
  })
  return { connectionId }
}

/** Every way a stored secret could be spelled: as given, and in the encodings Postgres or a dump would show. */
function spellings(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8')
  return [value, bytes.toString('hex'), bytes.toString('base64'), bytes.toString('base64url')]
}

/** Each row as Postgres prints it (bytea as hex), plus each bytea column in escape form (bytes as text). */
async function rowsAsText(prisma: PrismaClient): Promise<string> {
  const parts: string[] = []
  for (const table of tables) {
    const rows = await prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT t::text AS row FROM "${table}" t`)
    parts.push(...rows.map((r) => r.row))
    const byteaColumns = await prisma.$queryRaw<{ column_name: string }[]>`
      SELECT column_name FROM information_schema.columns WHERE table_name = ${table} AND data_type = 'bytea'`
    for (const { column_name } of byteaColumns) {
      const values = await prisma.$queryRawUnsafe<{ text: string | null }[]>(
        `SELECT encode("${column_name}", 'escape') AS text FROM "${table}"`,
      )
      parts.push(...values.map((v) => v.text ?? ''))
    }
  }
  return parts.join('\n')
}

/** The tables' heap files as the server wrote them to disk (needs a superuser, as the suite's database user is). */
async function heapFiles(prisma: PrismaClient): Promise<Buffer> {
  await prisma.$executeRawUnsafe('CHECKPOINT')
  const files: Buffer[] = []
  for (const table of tables) {
    const [file] = await prisma.$queryRawUnsafe<{ bytes: Uint8Array }[]>(
      `SELECT pg_read_binary_file(pg_relation_filepath($1)) AS bytes`,
      table,
    )
    if (file) files.push(Buffer.from(file.bytes))
  }
  return Buffer.concat(files)
}

t.test('no plaintext at rest: tokens, client secrets and PKCE verifiers are stored encrypted', async (t) => {
  const db = await openTestDatabase()
  t.teardown(() => db.drop())
  const known = knownValues()
  const { connectionId } = await storeEverything(db.prisma, known)

  t.test('in the rows as SQL reads them', async (t) => {
    const text = await rowsAsText(db.prisma)
    t.ok(text.includes(known.userId), 'the clear column is found, so the rows were read')
    for (const [name, value] of Object.entries(known.secrets)) {
      for (const spelling of spellings(value)) t.notOk(text.includes(spelling), `${name} absent as ${spelling}`)
    }
  })

  const [role] = await db.prisma.$queryRaw<{ rolsuper: boolean }[]>`
    SELECT rolsuper FROM pg_roles WHERE rolname = current_user`
  const skip = role?.rolsuper ? false : 'reading table files needs a superuser'
  t.test('in the table files on disk', { skip }, async (t) => {
    const disk = await heapFiles(db.prisma)
    t.ok(disk.includes(Buffer.from(known.userId)), 'the clear column is found, so the files hold the rows')
    for (const [name, value] of Object.entries(known.secrets)) {
      for (const spelling of spellings(value)) t.notOk(disk.includes(Buffer.from(spelling)), `${name} absent`)
    }
  })

  t.test('the right key and context read every value back', async (t) => {
    const connection = await db.prisma.connection.findUniqueOrThrow({ where: { id: connectionId } })
    const provider = await db.prisma.provider.findUniqueOrThrow({ where: { id: 'acme' } })
    const request = await db.prisma.authorizationRequest.findUniqueOrThrow({ where: { id: 'authz-1' } })
    const open = (value: Uint8Array | null, table: string, id: string, column: string) =>
      ring.decrypt(value as Uint8Array, cipherContext(table, id, column))
    t.equal(open(connection.accessTokenEnc, 'connections', connectionId, 'access_token'), known.secrets.accessToken)
    t.equal(open(connection.refreshTokenEnc, 'connections', connectionId, 'refresh_token'), known.secrets.refreshToken)
    t.equal(open(provider.clientSecretEnc, 'providers', 'acme', 'client_secret'), known.secrets.clientSecret)
    t.equal(
      open(request.codeVerifierEnc, 'authorization_requests', 'authz-1', 'code_verifier'),
      known.secrets.codeVerifier,
    )
    t.throws(
      () => open(connection.refreshTokenEnc, 'connections', connectionId, 'access_token'),
      'not under another column',
    )
  })
})
