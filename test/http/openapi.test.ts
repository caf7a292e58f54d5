import { readFileSync } from 'node:fs'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import { parse } from 'yaml'
import { build } from '../helper.js'

const STALE = 'openapi.yaml differs from the routes: run `npm run openapi` and commit openapi.yaml'

t.test('the served document is openapi.yaml, and it is valid OpenAPI 3', async (t) => {
  const { app } = await build(t)
  const res = await app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(res.statusCode, 200)
  const served = res.json()
  const committed = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8'))

  const operations = (doc: { paths: Record<string, object> }) =>
    Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`))
  t.strictSame(operations(served).sort(), operations(committed).sort(), `${STALE} (operations differ)`)
  t.strictSame(served, committed, STALE)

  // the validator dereferences in place: give it a copy
  await t.resolves(SwaggerParser.validate(structuredClone(served)), 'valid OpenAPI 3')
})

t.test('every operation is documented: tag, summary, responses with examples, admin security', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, { tags?: string[]; summary?: string; security?: unknown; responses: object }>>
  }
  t.notOk(
    Object.keys(doc.paths).some((path) => path.startsWith('/docs')),
    'the UI itself is not in the document',
  )
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const name = `${method.toUpperCase()} ${path}`
      t.ok(operation.tags?.length, `${name} has a tag`)
      t.ok(operation.summary, `${name} has a summary`)
      if (path.startsWith('/admin')) t.strictSame(operation.security, [{ admin: [] }], `${name} needs the admin token`)
      for (const [status, response] of Object.entries(operation.responses) as [string, ResponseObject][]) {
        if (status === '204' || status.startsWith('3')) continue // no body
        const examples = Object.values(response.content ?? {}).filter((media) => media.schema?.example !== undefined)
        t.ok(examples.length > 0, `${name} ${status} has an example`)
      }
    }
  }
})

interface ResponseObject {
  content?: Record<string, { schema?: { example?: unknown } }>
}
