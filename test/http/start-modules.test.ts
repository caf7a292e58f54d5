// What a new process loads before its first probe is answered: Fastify's schema compilers (Ajv's and
// fast-json-stringify's) wait for the first request that needs one of them, and the probes need neither. (Ajv itself
// is loaded here by other means: run from source, the built-in templates are checked at start, not read as built.)
import { createRequire } from 'node:module'
import t from 'tap'
import { ADMIN_TOKEN, build } from '../helper.js'

const loaded = (pattern: RegExp) =>
  Object.keys(createRequire(import.meta.url).cache).filter((path) => pattern.test(path))
const COMPILERS =
  /\/node_modules\/(@fastify\/ajv-compiler\/|@fastify\/fast-json-stringify-compiler\/|fast-json-stringify\/index)/

t.test('probes answer without the schema compilers; the first request with a schema loads them', async (t) => {
  const { app } = await build(t)
  t.same(loaded(COMPILERS), [], 'none loaded by the start')
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  t.same(loaded(COMPILERS), [], 'none loaded by the probes')
  const res = await app.inject({
    method: 'GET',
    url: '/admin/clients?limit=0',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  })
  t.equal(res.statusCode, 400, 'a query the schema refuses')
  t.ok(loaded(/\/node_modules\/@fastify\/ajv-compiler\//).length > 0, 'the validator compiler loaded by it')
})
