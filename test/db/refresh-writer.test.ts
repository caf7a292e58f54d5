// Refreshes that end together are stored together: one statement for many outcomes, and each outcome still gets its
// own answer (its row, null when its lease was taken over, or its own error). Scheduled refreshes that end one after
// another wait a little for each other; a store a caller waits for does not wait.
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import t from 'tap'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createRefreshWriter, GATHER_MS, MAX_STORE_BATCH, type RefreshedWrite } from '../../src/db/connections/index.js'
import { openAccessToken, openRefreshToken, sealTokens } from '../../src/services/connection-tokens.js'
import { Secret } from '../../src/crypto/secret.js'
import { build } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'

const stores: string[] = []
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [first] = args as [string | { text: string }]
  const text = typeof first === 'string' ? first : first.text
  if (/UPDATE connections c SET/.test(text)) stores.push(text)
  return (query as (...a: unknown[]) => unknown).apply(this, args)
} as typeof query

async function setup(t: { teardown(fn: () => unknown): void }, count: number) {
  const { app } = await build(t, { background: false })
  const providerId = await createProvider(app)
  const { db, keyring } = app.deps
  const leases = []
  for (let i = 0; i < count; i++) {
    const { id, refreshToken } = await seedConnection(app, { providerId, userId: `user-${i}` })
    const owner = `test/${randomUUID()}`
    await db.prisma.connection.update({
      where: { id },
      data: { leaseOwner: owner, leaseExpiresAt: new Date(Date.now() + 60_000) },
    })
    leases.push({ id, owner, refreshToken })
  }
  const writeFor = (lease: { id: string; owner: string }, i: number, scope = 'openid'): RefreshedWrite => {
    const sealed = sealTokens(keyring, lease.id, {
      accessToken: new Secret(`new-at-${i}`),
      refreshToken: i % 2 === 0 ? new Secret(`new-rt-${i}`) : undefined,
      tokenType: 'Bearer',
    })
    return {
      lease,
      fields: {
        accessTokenEnc: sealed.accessTokenEnc,
        refreshTokenEnc: sealed.refreshTokenEnc ?? null,
        tokenType: 'Bearer',
        scope,
        metadata: { round: String(i) },
        expiresAt: new Date(Date.now() + 3600_000),
        lifetimeSeconds: 3600,
        nextRefreshAt: new Date(Date.now() + 3000_000),
        refreshedAt: new Date(),
        refreshTokenExpiresAt: undefined,
      },
      audit: { actor: 'system', detail: { trigger: 'scheduler', i } },
    }
  }
  return { app, db, keyring, leases, writeFor, writer: createRefreshWriter(db) }
}

t.test('outcomes stored at once go in a few statements, each with its own row and audit entry', async (t) => {
  const count = MAX_STORE_BATCH + 36
  const { app, db, keyring, leases, writeFor, writer } = await setup(t, count)
  stores.length = 0
  const saved = await Promise.all(leases.map((lease, i) => writer.store(writeFor(lease, i))))
  t.ok(stores.length >= 2 && stores.length <= 4, `${count} outcomes in ${stores.length} statements`)

  for (const [i, lease] of leases.entries()) {
    const row = saved[i]
    t.equal(row?.id, lease.id, `outcome ${i}: its own row`)
    if (!row) continue
    t.equal(openAccessToken(keyring, row).reveal(), `new-at-${i}`)
    const expected = i % 2 === 0 ? `new-rt-${i}` : lease.refreshToken
    t.equal(openRefreshToken(keyring, row)?.reveal(), expected, 'rotated, or the stored one kept')
    t.equal(row.leaseOwner, null, 'lease released')
    t.same(row.metadata, { round: String(i) })
  }
  const audit = await db.prisma.auditEvent.findMany({ where: { action: 'connection.refreshed' } })
  t.equal(audit.length, count, 'one audit entry each')
  t.ok(
    audit.every((entry) => {
      const i = leases.findIndex((lease) => lease.id === entry.subjectId)
      return i >= 0 && (entry.detail as { i: number }).i === i
    }),
    "each entry is its own refresh's",
  )
  await app.close()
})

t.test('a lease taken over, or an outcome the database refuses, fails alone in its batch', async (t) => {
  const { db, keyring, leases, writeFor, writer } = await setup(t, 6)
  const [first, second] = leases as [(typeof leases)[0], (typeof leases)[0]]
  await db.prisma.connection.update({ where: { id: first.id }, data: { leaseOwner: 'elsewhere/1' } })
  stores.length = 0
  const answers = await Promise.allSettled(
    // Postgres text cannot hold NUL: the second outcome's scope is refused
    leases.map((lease, i) => writer.store(writeFor(lease, i, i === 1 ? 'open\u0000id' : 'openid'))),
  )
  t.equal(stores.length, 1 + leases.length, 'the failed statement was followed by one per outcome')
  t.same(answers[0], { status: 'fulfilled', value: null }, 'lease taken over: null')
  t.equal(answers[1]?.status, 'rejected', 'the refused outcome: its own error')
  for (const i of [2, 3, 4, 5]) {
    const answer = answers[i]
    t.equal(answer?.status === 'fulfilled' && answer.value?.id, leases[i]?.id, `outcome ${i} stored`)
  }
  const kept = await db.prisma.connection.findUniqueOrThrow({ where: { id: first.id } })
  t.equal(kept.leaseOwner, 'elsewhere/1', "the other owner's lease stays")
  t.equal(openRefreshToken(keyring, kept)?.reveal(), first.refreshToken, 'and its tokens')
  const refused = await db.prisma.connection.findUniqueOrThrow({ where: { id: second.id } })
  t.equal(refused.leaseOwner, second.owner, 'the refused outcome left its row as it was')
  t.equal(await db.prisma.auditEvent.count({ where: { action: 'connection.refreshed' } }), 4)
})

t.test(
  "scheduled refreshes that end one after another share a statement; a caller's store does not wait",
  async (t) => {
    const { keyring, leases, writeFor, writer } = await setup(t, 10)
    const gathered = leases.slice(0, 6)
    stores.length = 0
    const started = performance.now()
    const saved: Array<Promise<unknown>> = []
    for (const [i, lease] of gathered.entries()) {
      saved.push(writer.store(writeFor(lease, i), { gather: true }))
      await nextTurn()
    }
    const rows = await Promise.all(saved)
    t.ok(stores.length <= 2, `6 outcomes ending in turns of their own: ${stores.length} statements`)
    t.ok(performance.now() - started >= GATHER_MS, 'they waited for each other')
    t.same(
      rows.map((row) => (row as { id: string }).id),
      gathered.map((lease) => lease.id),
      'each its own row',
    )

    // three scheduled outcomes are waiting when a caller's arrives: it goes at the next turn, and takes them along
    const rest = leases.slice(6) as [(typeof leases)[0], ...typeof leases]
    stores.length = 0
    const waiting = rest.slice(0, 3).map((lease, i) => writer.store(writeFor(lease, 6 + i), { gather: true }))
    await nextTurn()
    const callerStore = writer.store(writeFor(rest[3] as (typeof leases)[0], 9))
    for (let turn = 0; turn < 3 && stores.length === 0; turn++) await nextTurn()
    t.equal(stores.length, 1, "the caller's store is sent within a few turns, not after the wait")
    const caller = await callerStore
    const taken = await Promise.all(waiting)
    t.equal(stores.length, 1, "the caller's outcome and the waiting ones in one statement")
    t.equal(caller?.id, rest[3]?.id)
    t.equal(openAccessToken(keyring, caller as NonNullable<typeof caller>).reveal(), 'new-at-9')
    t.same(
      taken.map((row) => row?.id),
      rest.slice(0, 3).map((lease) => lease.id),
    )
  },
)

t.test('a scheduled outcome does not wait when every refresh in flight has its outcome queued', async (t) => {
  const { db, leases, writeFor } = await setup(t, 3)
  let inFlight = 2
  const writer = createRefreshWriter(db, { inFlight: () => inFlight })
  stores.length = 0
  const first = writer.store(writeFor(leases[0] as (typeof leases)[0], 0), { gather: true })
  for (let turn = 0; turn < 3; turn++) await nextTurn()
  t.equal(stores.length, 0, 'another refresh is in flight: the first outcome waits for it')
  const second = writer.store(writeFor(leases[1] as (typeof leases)[0], 1), { gather: true })
  for (let turn = 0; turn < 3 && stores.length === 0; turn++) await nextTurn()
  t.equal(stores.length, 1, 'both are here: they go at once, together')
  await Promise.all([first, second])
  inFlight = 1
  stores.length = 0
  const alone = writer.store(writeFor(leases[2] as (typeof leases)[0], 2), { gather: true })
  for (let turn = 0; turn < 3 && stores.length === 0; turn++) await nextTurn()
  t.equal(stores.length, 1, 'the only refresh in flight: stored at once')
  t.equal((await alone)?.id, leases[2]?.id)
})
