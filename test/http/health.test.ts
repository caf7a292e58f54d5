import t from 'tap'
import { build } from '../helper.js'

t.test('healthz answers while the process is up', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ok' })
})

t.test('readyz is 200 on a migrated database', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'ready' })
})

t.test('readyz is 503 when a migration is missing', async (t) => {
  const { app, db } = await build(t)
  await db.prisma.$executeRawUnsafe(`DELETE FROM _prisma_migrations`)
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'service_unavailable')
  t.match(res.json().message, /pending/)
})

t.test('readyz is 503 when the database is unreachable', async (t) => {
  const { app, db } = await build(t)
  await db.pool.end()
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().error, 'service_unavailable')
})

t.test('unknown routes answer a JSON 404', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/nope?code=secret' })
  t.equal(res.statusCode, 404)
  t.same(Object.keys(res.json()).sort(), ['error', 'message'])
  t.notMatch(res.body, /secret/)
})
