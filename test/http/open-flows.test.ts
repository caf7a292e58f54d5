// A caller may hold at most MAX_OPEN_FLOWS_PER_CALLER start links neither used nor expired: beyond it POST
// /authorizations answers 429 too_many_open_flows, for that caller only, also under a burst of concurrent requests,
// until its links expire.
import t from 'tap'
import { build } from '../helper.js'
import { createCaller, createProvider } from '../support/fixtures.js'

let clock = new Date('2026-06-01T10:00:00.000Z')
const { app, db } = await build(t, {
  background: false,
  now: () => clock,
  config: { MAX_OPEN_FLOWS_PER_CALLER: 3 },
})
await createProvider(app, { id: 'idp' })
const callers = {
  looping: await createCaller(app, { allowedProviders: ['idp'] }),
  bursting: await createCaller(app, { allowedProviders: ['idp'] }),
  other: await createCaller(app, { allowedProviders: ['idp'] }),
}
const start = (caller: { headers: { authorization: string } }, userId = 'alice') =>
  app.inject({ method: 'POST', url: '/authorizations', headers: caller.headers, payload: { provider: 'idp', userId } })

t.test('the cap refuses the link after the last allowed one, and only for that caller', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await start(callers.looping)).statusCode, 201, `link ${i + 1}`)
  const refused = await start(callers.looping)
  t.equal(refused.statusCode, 429)
  t.equal(refused.json().error, 'too_many_open_flows')
  t.ok(refused.headers['retry-after'], 'says when to look again')
  t.equal((await start(callers.other)).statusCode, 201, 'another caller is not affected')
  t.equal(await db.prisma.authorizationRequest.count({ where: { clientId: callers.looping.id } }), 3)
})

t.test('a burst of concurrent requests gets no more than the cap', async (t) => {
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => start(callers.bursting, `u${i}`)))
  const codes = answers.map((res) => res.statusCode)
  t.equal(codes.filter((code) => code === 201).length, 3)
  t.equal(codes.filter((code) => code === 429).length, 17)
  t.equal(await db.prisma.authorizationRequest.count({ where: { clientId: callers.bursting.id } }), 3)
})

t.test('expired links no longer count', async (t) => {
  clock = new Date(clock.getTime() + 11 * 60 * 1000)
  t.equal((await start(callers.looping)).statusCode, 201)
})
