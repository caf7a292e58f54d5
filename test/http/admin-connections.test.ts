import t from 'tap'
import { recordAudit } from '../../src/db/audit.js'
import { ADMIN_TOKEN, build } from '../helper.js'
import { createProvider, seedConnection, type SeededConnection } from '../support/fixtures.js'

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

interface Page {
  items: { id: string; provider: string; userId: string; status: string; createdAt: string }[]
  nextCursor: string | null
}

async function seed(built: Awaited<ReturnType<typeof build>>) {
  await createProvider(built.app, { id: 'acme' })
  await createProvider(built.app, { id: 'globex' })
  const seeded: (SeededConnection & { userId: string; providerId: string })[] = []
  const base = Date.parse('2026-01-01T00:00:00Z')
  for (let i = 0; i < 7; i++) {
    const fields = {
      providerId: i % 2 === 0 ? 'acme' : 'globex',
      userId: `user-${Math.floor(i / 2)}`,
      status: i === 5 ? 'reauthorization_required' : 'active',
      // two pairs share a creation time, so the cursor must break ties by id
      createdAt: new Date(base + Math.floor(i / 2) * 1000),
    }
    seeded.push({ ...(await seedConnection(built.app, fields)), ...fields })
  }
  return seeded
}

async function walk(app: Built['app'], query: string): Promise<Page['items']> {
  const items: Page['items'] = []
  let cursor: string | null = null
  do {
    const url: string = `/admin/connections?${query}${cursor ? `&cursor=${cursor}` : ''}`
    const res = await app.inject({ method: 'GET', url, headers: admin })
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const page = res.json() as Page
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return items
}

type Built = Awaited<ReturnType<typeof build>>

t.test('lists connections newest first, page by page, with filters', async (t) => {
  const built = await build(t)
  const { app } = built
  const seeded = await seed(built)

  const all = await walk(app, 'limit=3')
  t.equal(all.length, 7, 'every connection once')
  t.equal(new Set(all.map((c) => c.id)).size, 7, 'no duplicates across pages')
  const times = all.map((c) => Date.parse(c.createdAt))
  t.strictSame(
    times,
    [...times].sort((a, b) => b - a),
    'newest first',
  )

  const first = (await app.inject({ method: 'GET', url: '/admin/connections', headers: admin })).json() as Page
  t.equal(first.items.length, 7)
  t.equal(first.nextCursor, null, 'a single page has no next cursor')

  const acme = await walk(app, 'provider=acme&limit=2')
  t.strictSame(
    acme.map((c) => c.id).sort(),
    seeded
      .filter((c) => c.providerId === 'acme')
      .map((c) => c.id)
      .sort(),
  )
  const broken = await walk(app, 'status=reauthorization_required')
  t.strictSame(
    broken.map((c) => c.id),
    [seeded[5]?.id],
  )
  const user1 = await walk(app, 'userId=user-1')
  t.strictSame(user1.map((c) => c.id).sort(), [seeded[2]?.id, seeded[3]?.id].sort())
  t.strictSame(
    (await walk(app, 'userId=user-1&provider=globex')).map((c) => c.id),
    [seeded[3]?.id],
  )
  t.strictSame(await walk(app, 'userId=nobody'), [])
})

t.test('connection detail shows state and timing, never a token', async (t) => {
  const built = await build(t)
  const { app } = built
  const [connection] = await seed(built)
  if (!connection) throw new Error('seeding failed')
  await built.db.prisma.connection.update({
    where: { id: connection.id },
    data: { failureCount: 2, lastError: 'provider_unavailable', leaseOwner: 'host:1:abc' },
  })

  const res = await app.inject({ method: 'GET', url: `/admin/connections/${connection.id}`, headers: admin })
  t.equal(res.statusCode, 200)
  t.match(res.json(), {
    id: connection.id,
    provider: 'acme',
    userId: 'user-0',
    status: 'active',
    hasRefreshToken: true,
    failureCount: 2,
    lastError: 'provider_unavailable',
    lease: { owner: 'host:1:abc', expiresAt: null },
    scope: 'openid',
    expiresAt: String,
    createdAt: String,
  })
  const everything = (await walk(app, 'limit=500')).map((c) => JSON.stringify(c)).join('') + res.body
  for (const secret of [connection.accessToken, connection.refreshToken]) t.notOk(everything.includes(secret))
  t.notMatch(everything, /Enc|accessToken|refreshToken"/, 'no token field at all')
})

t.test('missing connections, bad parameters and missing credentials', async (t) => {
  const { app } = await build(t)
  const get = (url: string, headers: Record<string, string> = admin) => app.inject({ method: 'GET', url, headers })

  const missing = await get('/admin/connections/0b6f3c52-5b1e-4d47-9a55-2f4c8d1f7e21')
  t.equal(missing.statusCode, 404)
  t.strictSame(missing.json(), { error: 'not_found', message: 'connection not found' })
  t.equal((await get('/admin/connections/not-a-uuid')).statusCode, 404)

  t.equal((await get('/admin/connections?limit=501')).json().error, 'invalid_request')
  t.equal((await get('/admin/connections?limit=0')).statusCode, 400)
  t.equal((await get('/admin/connections?status=gone')).statusCode, 400)
  for (const cursor of [
    'nope',
    Buffer.from('["x","y"]').toString('base64url'),
    Buffer.from('[1]').toString('base64url'),
  ]) {
    const res = await get(`/admin/connections?cursor=${cursor}`)
    t.strictSame([res.statusCode, res.json()], [400, { error: 'invalid_request', message: 'invalid cursor' }])
  }
  t.equal((await get('/admin/audit?cursor=WyJ4Il0')).statusCode, 400)

  for (const url of ['/admin/connections', '/admin/connections/x', '/admin/audit']) {
    t.strictSame((await get(url, {})).json(), { error: 'unauthorized', message: 'admin token required' }, url)
    t.equal((await get(url, { authorization: 'Bearer wrong-token' })).statusCode, 401, url)
  }
})

t.test('the audit trail, newest first, page by page', async (t) => {
  const { app, db } = await build(t)
  for (let i = 0; i < 5; i++) {
    await recordAudit(db, {
      actor: 'admin',
      action: `test.action${i}`,
      subjectType: 'provider',
      subjectId: `p${i}`,
      detail: { n: i },
    })
  }
  const actions: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await app.inject({
      method: 'GET',
      url: `/admin/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      headers: admin,
    })
    t.equal(res.statusCode, 200)
    const page = res.json() as { items: { action: string; detail: unknown; id: string }[]; nextCursor: string | null }
    actions.push(...page.items.map((e) => e.action))
    if (pages === 0) t.match(page.items[0], { id: String, actor: 'admin', subjectType: 'provider', detail: { n: 4 } })
    cursor = page.nextCursor
    pages++
  } while (cursor)
  t.equal(pages, 3)
  t.strictSame(actions, ['test.action4', 'test.action3', 'test.action2', 'test.action1', 'test.action0'])
})
