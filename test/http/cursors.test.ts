// Every list decodes its cursor in one place (src/db/pagination.ts) and checks it before any query: a tampered cursor
// is a 400, never a database error. Each list gets cursors of every wrong kind, and its own valid cursor works.
import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, createCaller, createProvider, seedConnection } from '../support/fixtures.js'

const cursor = (key: unknown) => Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')
const uuid = '00000000-0000-4000-8000-000000000000'
const iso = '2026-01-01T10:00:00.000Z'

const anyList = ['%%%', 'bm90IGpzb24', cursor({ a: 1 }), cursor([]), cursor([1, 2]), cursor([iso, uuid, 'x'])]
const byTime = [
  cursor(['yesterday', uuid]),
  cursor(['2026-13-45T10:00:00.000Z', uuid]),
  cursor(['+275760-09-13T00:00:00.000Z', uuid]),
  cursor(['-271821-04-20T00:00:00.000Z', uuid]),
  cursor(['2026-01-01', uuid]),
  cursor([iso, 'not-a-uuid']),
  cursor([iso, `${uuid}\u0000`]),
]
const lists: Record<string, string[]> = {
  '/admin/connections': [...anyList, ...byTime],
  '/admin/clients': [...anyList, ...byTime],
  '/admin/webhook-deliveries': [...anyList, ...byTime],
  '/admin/audit': [...anyList, cursor(['99999999999999999999']), cursor(['9223372036854775808']), cursor(['-1'])],
  '/admin/providers': [
    ...anyList,
    cursor(['\u0000']),
    cursor(['a\u0000b']),
    cursor(['UPPER']),
    cursor(['x'.repeat(65)]),
  ],
}

t.test('a tampered cursor is refused with 400 invalid_cursor by every list', async (t) => {
  const { app } = await build(t, { background: false })
  for (const [path, cursors] of Object.entries(lists)) {
    for (const given of cursors) {
      const res = await app.inject({ url: `${path}?cursor=${encodeURIComponent(given)}`, headers: adminHeaders })
      t.equal(res.statusCode, 400, `${path} ${Buffer.from(given, 'base64url').toString('utf8').slice(0, 40)}`)
      t.same(res.json(), { error: 'invalid_request', message: 'invalid cursor' })
    }
  }
})

t.test('the cursors the lists hand out lead to the next page', async (t) => {
  const { app } = await build(t, { background: false })
  for (const id of ['a', 'b', 'c']) await createProvider(app, { id })
  for (const name of ['one', 'two', 'three']) await createCaller(app, { name, allowedProviders: ['a'] })
  for (const userId of ['u1', 'u2', 'u3']) await seedConnection(app, { providerId: 'a', userId })
  for (const path of ['/admin/providers', '/admin/clients', '/admin/connections', '/admin/audit']) {
    const seen: string[] = []
    let next: string | null = null
    do {
      const res = await app.inject({
        url: `${path}?limit=1${next ? `&cursor=${encodeURIComponent(next)}` : ''}`,
        headers: adminHeaders,
      })
      t.equal(res.statusCode, 200, path)
      const page = res.json() as { items: { id: string }[]; nextCursor: string | null }
      seen.push(...page.items.map((item) => item.id))
      next = page.nextCursor
    } while (next && seen.length < 50)
    t.ok(seen.length >= 3, `${path}: ${seen.length} items over pages of one`)
    t.equal(new Set(seen).size, seen.length, `${path}: no item twice`)
  }
})
