// When a busy caller's cached API key and token expire at the same moment, the requests in flight share one read of
// each instead of all reading the database at once.
import pg from 'pg'
import t from 'tap'
import { build } from '../helper.js'
import { seedConnection, seedProvider } from '../support/connections.js'
import { createCaller } from '../support/token-fixture.js'

const statements: string[] = []
const query = pg.Client.prototype.query
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const [first] = args as [string | { text: string }]
  statements.push(typeof first === 'string' ? first : first.text)
  return (query as (...a: unknown[]) => unknown).apply(this, args)
} as typeof query

t.test('concurrent GET /tokens after the caches expire read the key and the connection once', async (t) => {
  let clock = Date.now()
  const { app } = await build(t, { background: false, now: () => new Date(clock) })
  const { prisma, keyring } = app.deps
  const providerId = await seedProvider(prisma)
  await seedConnection(prisma, keyring, { providerId, userId: 'alice' })
  const caller = await createCaller(app, [providerId])
  const get = () => app.inject({ url: `/tokens/alice?provider=${providerId}`, headers: caller.headers })
  t.equal((await get()).statusCode, 200)

  clock += 3_100 // past the token cache; the API key cache runs on the real clock
  await new Promise((resolve) => setTimeout(resolve, 2_100))
  statements.length = 0
  const answers = await Promise.all(Array.from({ length: 40 }, get))
  t.ok(
    answers.every((answer) => answer.statusCode === 200),
    'all served',
  )
  t.equal(statements.filter((text) => /api_clients/.test(text)).length, 1, 'one read of the API key')
  t.equal(statements.filter((text) => /FROM connections/.test(text)).length, 1, 'one read of the connection')
})
