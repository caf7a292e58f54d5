import t from 'tap'
import {
  claimDueConnections,
  createConnectionReader,
  findLeased,
  releaseLease,
  takeLease,
} from '../../src/db/connections/index.js'
import { build } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'

t.test('the reads GET /tokens makes return what Prisma returns, column for column', async (t) => {
  const { app } = await build(t, { background: false })
  const { prisma } = app.deps.db
  const providerId = await createProvider(app)
  const plain = await seedConnection(app, { providerId, userId: 'plain' })
  const busy = await seedConnection(app, { providerId, userId: 'busy', lastError: 'HTTP 503' })
  const now = new Date()
  await prisma.connection.update({
    where: { id: busy.id },
    data: {
      subject: 'sub-1',
      lifetimeSeconds: 3600,
      nextRefreshAt: now,
      leaseOwner: 'elsewhere/1',
      leaseExpiresAt: now,
      failureCount: 2,
      lastErrorAt: now,
      lastRefreshedAt: now,
      refreshTokenEnc: null,
      version: { increment: 3 },
    },
  })

  const reader = createConnectionReader(app.deps.db)
  const findConnectionByUser = (providerId: string, userId: string) =>
    reader.read({ namespace: 'default', providerId, userId })
  for (const userId of ['plain', 'busy']) {
    const expected = await prisma.connection.findUnique({
      where: { namespace_providerId_userId: { namespace: 'default', providerId, userId } },
    })
    const read = await findConnectionByUser(providerId, userId)
    t.same(read, expected, userId)
    t.ok(read?.accessTokenEnc instanceof Uint8Array, `${userId}: bytes as Prisma gives them`)
    t.ok(read?.createdAt instanceof Date, `${userId}: dates as dates`)
  }
  t.equal((await findConnectionByUser(providerId, 'plain'))?.id, plain.id)
  t.equal(await findConnectionByUser(providerId, 'nobody'), null, 'no row: null')
  t.equal(await findConnectionByUser('other', 'plain'), null, 'another provider: null')
})

t.test('a lease returns the row and its provider as Prisma reads them, whichever statement takes it', async (t) => {
  const { app } = await build(t, { background: false })
  const { prisma } = app.deps.db
  const providerId = await createProvider(app, { id: 'full' })
  const now = new Date()
  // every provider column set, so a column mapped wrong or forgotten shows
  await prisma.provider.update({
    where: { id: providerId },
    data: {
      displayName: 'Full',
      preset: 'oidc',
      revocationEndpoint: 'https://idp.example/revoke',
      clientSecretEnc: new Uint8Array([1, 2, 3]),
      tokenEndpointAuthMethod: 'client_secret_post',
      scopes: ['openid', 'offline_access'],
      authorizationParams: { prompt: 'consent', audience: 'api' },
      pkce: false,
      defaultTokenLifetimeSeconds: 900,
      refreshMarginSeconds: 120,
      credentialsStatus: 'invalid',
      credentialsError: 'invalid_client',
      credentialsCheckedAt: now,
    },
  })
  const seeded = await seedConnection(app, { providerId, userId: 'u1' })
  await prisma.connection.update({ where: { id: seeded.id }, data: { nextRefreshAt: new Date(now.getTime() - 1000) } })
  const prismaRead = () =>
    prisma.connection.findUniqueOrThrow({ where: { id: seeded.id }, include: { provider: true } })
  const terms = (owner: string) => ({ owner, now: new Date(), until: new Date(Date.now() + 60_000) })

  const [claimed] = await claimDueConnections(app.deps.db, { ...terms('claim/1'), limit: 5, exclude: [] })
  t.same(claimed, await prismaRead(), 'the claim')
  t.ok(claimed?.provider.clientSecretEnc instanceof Uint8Array, 'provider bytes as Prisma gives them')
  t.same(await findLeased(app.deps.db, seeded.id, 'claim/1'), await prismaRead(), 'the leased row read again')
  t.equal(await findLeased(app.deps.db, seeded.id, 'someone/else'), null, 'only by its owner')
  t.equal(await takeLease(app.deps.db, seeded.id, terms('take/1')), null, 'a live lease is not taken')
  t.ok(await releaseLease(app.deps.db, seeded.id, 'claim/1'), 'released by its owner')
  t.notOk(await releaseLease(app.deps.db, seeded.id, 'claim/1'), 'released once')
  const taken = await takeLease(app.deps.db, seeded.id, terms('take/2'))
  t.equal(taken?.leaseOwner, 'take/2')
  t.same(taken, await prismaRead(), 'the lease taken on demand')
})
