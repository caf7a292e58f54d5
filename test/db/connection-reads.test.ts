import t from 'tap'
import { findConnectionByUser } from '../../src/db/connection-reads.js'
import { build } from '../helper.js'
import { seedConnection, seedProvider } from '../support/connections.js'

t.test('the read GET /tokens makes returns what Prisma returns, column for column', async (t) => {
  const { app } = await build(t, { background: false })
  const { prisma, keyring } = app.deps
  const providerId = await seedProvider(prisma)
  const plain = await seedConnection(prisma, keyring, { providerId, userId: 'plain' })
  const busy = await seedConnection(prisma, keyring, { providerId, userId: 'busy', lastError: 'HTTP 503' })
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

  for (const userId of ['plain', 'busy']) {
    const expected = await prisma.connection.findUnique({ where: { providerId_userId: { providerId, userId } } })
    const read = await findConnectionByUser(prisma, providerId, userId)
    t.same(read, expected, userId)
    t.ok(read?.accessTokenEnc instanceof Uint8Array, `${userId}: bytes as Prisma gives them`)
    t.ok(read?.createdAt instanceof Date, `${userId}: dates as dates`)
  }
  t.equal((await findConnectionByUser(prisma, providerId, 'plain'))?.id, plain.id)
  t.equal(await findConnectionByUser(prisma, providerId, 'nobody'), null, 'no row: null')
  t.equal(await findConnectionByUser(prisma, 'other', 'plain'), null, 'another provider: null')
})
