// When a busy caller's cached API key and token expire at the same moment, the requests in flight share one read of
// each instead of all reading the database at once.
import pg from 'pg'
import t from 'tap'
import { build } from '../helper.js'
import { createProvider, seedConnection } from '../support/fixtures.js'
import { createCaller } from '../support/fixtures.js'

const statements: string[] = []
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [first] = args as [string | { text: string }]
  statements.push(typeof first === 'string' ? first : first.text)
  return (query as (...a: unknown[]) => unknown).apply(this, args)
} as typeof query

t.test('concurrent GET /tokens after the caches expire read the key, the connection and the margin once', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, { background: false, now: () => new Date(clock) })
  const providerId = await createProvider(app)
  await seedConnection(app, { providerId, userId: 'alice' })
  const caller = await createCaller(app, { allowedProviders: [providerId] })
  const get = () => app.inject({ url: `/tokens/alice?provider=${providerId}`, headers: caller.headers })
  t.equal((await get()).statusCode, 200)

  clock += 3_100 // past the token cache; the API key cache (2 s) and the provider's margin (5 s) run on the real clock
  await new Promise((resolve) => setTimeout(resolve, 5_100))
  statements.length = 0
  const answers = await Promise.all(Array.from({ length: 40 }, get))
  t.ok(
    answers.every((answer) => answer.statusCode === 200),
    'all served',
  )
  t.equal(statements.filter((text) => /api_clients/.test(text)).length, 1, 'one read of the API key')
  t.equal(statements.filter((text) => /FROM connections/.test(text)).length, 1, 'one read of the connection')
  t.equal(
    statements.filter((text) => /refresh_margin_seconds/.test(text)).length,
    1,
    "one read of the provider's margin",
  )
})

t.test('cold GET /tokens for many users at once read their connections in a few statements', async (t) => {
  const { app } = await build(t, { background: false })
  const providerId = await createProvider(app)
  const users = Array.from({ length: 120 }, (_, i) => `user-${i}`)
  const seeded = new Map<string, string>()
  for (const userId of users) {
    seeded.set(userId, (await seedConnection(app, { providerId, userId })).accessToken)
  }
  const caller = await createCaller(app, { allowedProviders: [providerId] })
  const get = (userId: string) =>
    app.inject({ url: `/tokens/${encodeURIComponent(userId)}?provider=${providerId}`, headers: caller.headers })
  t.equal((await get('user-0')).statusCode, 200, 'the API key is warm')

  statements.length = 0
  const asked = [...users.slice(1), 'nobody', 'no-one']
  const answers = await Promise.all(asked.map(get))
  const reads = statements.filter((text) => /FROM connections/.test(text)).length
  t.ok(reads >= 2 && reads <= 6, `${asked.length} cold reads in ${reads} statements (100 users at most in one)`)
  for (const [i, userId] of asked.entries()) {
    const answer = answers[i]
    if (seeded.has(userId)) {
      t.equal(answer?.json().accessToken, seeded.get(userId), `${userId}: its own token`)
    } else {
      t.equal(answer?.statusCode, 404, `${userId}: not connected`)
    }
  }
})
