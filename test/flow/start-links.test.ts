// Start links asked for at the same moment are recorded together: one insert for many, each row its own.
import pg from 'pg'
import t from 'tap'
import { build } from '../helper.js'
import { adminHeaders, createCaller, createProvider } from '../support/fixtures.js'

const inserts: number[] = []
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [first] = args as [string | { text: string; values?: unknown[][] }]
  const text = typeof first === 'string' ? first : first.text
  if (/INSERT INTO "?authorization_requests/.test(text)) {
    inserts.push(typeof first === 'string' ? 1 : (first.values?.[0]?.length ?? 1))
  }
  return (query as (...a: unknown[]) => unknown).apply(this, args)
} as typeof query

interface RequestRow {
  id: string
  user_id: string
  scopes: string[]
  return_to: string | null
  confirm: boolean
  namespace: string
}

t.test('concurrent POST /authorizations are recorded in a few statements, each row as asked', async (t) => {
  const { app } = await build(t, { background: false })
  const providerId = await createProvider(app, { scopes: ['read'] })
  const caller = await createCaller(app, {
    allowedProviders: [providerId],
    allowedReturnTo: ['https://app.example.test/done'],
    namespace: 'team-a',
  })
  const asked = Array.from({ length: 150 }, (_, i) => ({
    provider: providerId,
    userId: `user-${i}`,
    ...(i % 3 === 0 ? { scopes: [`s${i}`, 'read write'.split(' ')[i % 2] as string] } : {}),
    ...(i % 2 === 0 ? { returnTo: 'https://app.example.test/done', confirm: i % 4 === 0 } : {}),
  }))
  inserts.length = 0
  const answers = await Promise.all(
    asked.map((payload) => app.inject({ method: 'POST', url: '/authorizations', headers: caller.headers, payload })),
  )
  t.same(
    answers.map((a) => a.statusCode),
    asked.map(() => 201),
    'every link created',
  )
  t.ok(inserts.length >= 2 && inserts.length <= 6, `${asked.length} links in ${inserts.length} inserts`)
  t.equal(
    inserts.reduce((a, b) => a + b, 0),
    asked.length,
    'every row inserted once',
  )

  const { rows } = await app.deps.db.pool.query<RequestRow>(
    'SELECT id, user_id, scopes, return_to, confirm, namespace FROM authorization_requests',
  )
  const byId = new Map(rows.map((row) => [row.id, row]))
  for (const [i, answer] of answers.entries()) {
    const { id, url } = answer.json() as { id: string; url: string }
    const row = byId.get(id)
    const want = asked[i]!
    t.ok(url.endsWith(`/start/${id}`) || url.includes(id), `${want.userId}: the link names its request`)
    t.same(
      row && {
        user: row.user_id,
        scopes: row.scopes,
        returnTo: row.return_to,
        confirm: row.confirm,
        ns: row.namespace,
      },
      {
        user: want.userId,
        scopes: want.scopes ?? ['read'],
        returnTo: want.returnTo ?? null,
        confirm: want.confirm ?? false,
        ns: 'team-a',
      },
      `${want.userId}: stored as asked`,
    )
  }
})

t.test(
  'a provider changed here is seen by the next start link; one deleted elsewhere fails only its own',
  async (t) => {
    const { app } = await build(t, { background: false })
    const kept = await createProvider(app, { id: 'kept' })
    const gone = await createProvider(app, { id: 'gone' })
    const caller = await createCaller(app, { allowedProviders: [kept, gone] })
    const start = (provider: string, userId: string, scopes?: string[]) =>
      app.inject({
        method: 'POST',
        url: '/authorizations',
        headers: caller.headers,
        payload: { provider, userId, ...(scopes ? { scopes } : {}) },
      })
    t.equal((await start(kept, 'u', ['anything'])).statusCode, 201, 'any scope while allowedScopes is empty')

    const replaced = await app.inject({
      method: 'PUT',
      url: `/admin/providers/${kept}`,
      headers: adminHeaders,
      payload: {
        clientId: 'kept-client',
        authorizationEndpoint: 'https://kept.example.test/authorize',
        tokenEndpoint: 'https://kept.example.test/token',
        allowedScopes: ['read'],
      },
    })
    t.equal(replaced.statusCode, 200, replaced.body)
    const outside = await start(kept, 'u', ['anything'])
    t.equal(outside.statusCode, 400, 'the new allowedScopes apply at once')
    t.equal(outside.json().error, 'invalid_scope')

    t.equal((await start(gone, 'u')).statusCode, 201, 'the provider is known')
    // another instance deletes it: this one still has it in mind
    await app.deps.db.pool.query('DELETE FROM providers WHERE id = $1', [gone])
    const answers = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => start(kept, `k${i}`)),
      start(gone, 'g'),
      ...Array.from({ length: 5 }, (_, i) => start(kept, `k${i + 5}`)),
    ])
    t.same(
      answers.map((a) => a.statusCode),
      [201, 201, 201, 201, 201, 404, 201, 201, 201, 201, 201],
      'the deleted provider answers 404; the others in its batch are created',
    )
    t.equal(answers[5]?.json().error, 'not_found')
  },
)
