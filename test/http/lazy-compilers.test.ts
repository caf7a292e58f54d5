// Validators and serializers compiled on a route's first request must answer exactly as Fastify's own, compiled at
// start: coercion of a root value, error messages, response shaping.
import Fastify, { type FastifyInstance } from 'fastify'
import t from 'tap'
import { lazyCompilers } from '../../src/http/lazy-compilers.js'

function app(lazy: boolean): FastifyInstance {
  const app = Fastify({
    ajv: { customOptions: { removeAdditional: false } },
    ...(lazy ? { schemaController: lazyCompilers() } : {}),
  })
  app.post('/text', { schema: { body: { type: 'string' } } }, async (request) => ({ type: typeof request.body }))
  app.post(
    '/object/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer' } } },
        querystring: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } },
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 5 } },
        },
        response: { 200: { type: 'object', properties: { id: { type: 'integer' }, n: { type: 'integer' } } } },
      },
    },
    async (request) => ({ ...(request.params as object), ...(request.query as object), secret: 'not in the schema' }),
  )
  return app
}

const requests = [
  { method: 'POST', url: '/text', headers: { 'content-type': 'application/json' }, payload: '-9223372036854776000' },
  { method: 'POST', url: '/text', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' },
  { method: 'POST', url: '/object/7?n=3', payload: { name: 'ok' } },
  { method: 'POST', url: '/object/7?n=0', payload: { name: 'ok' } },
  { method: 'POST', url: '/object/x', payload: { name: 'ok' } },
  { method: 'POST', url: '/object/7', payload: { name: 'too long' } },
  { method: 'POST', url: '/object/7', payload: { name: 'ok', extra: true } },
  { method: 'POST', url: '/object/7', payload: {} },
] as const

t.test('each request answers the same with lazy compilers as with those compiled at start', async (t) => {
  const eager = app(false)
  const lazy = app(true)
  t.teardown(() => Promise.all([eager.close(), lazy.close()]))
  // twice: the first request compiles, the second uses what it compiled
  for (const round of [1, 2]) {
    for (const request of requests) {
      const [a, b] = await Promise.all([eager.inject(request), lazy.inject(request)])
      t.same(
        { status: b.statusCode, body: b.json() },
        { status: a.statusCode, body: a.json() },
        `${request.url} #${round}`,
      )
    }
  }
  const coerced = await lazy.inject(requests[0])
  t.same(coerced.json(), { type: 'string' }, 'a number body for a string schema is coerced, as Fastify does')
  const shaped = await lazy.inject(requests[2])
  t.same(shaped.json(), { id: 7, n: 3 }, 'the response serializer drops what its schema does not name')
})
