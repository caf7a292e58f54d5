// `npm run import -- --file connections.ndjson [--url http://127.0.0.1:3000]`: posts an NDJSON file of connections to
// a running broker's POST /admin/connections/import/bulk with ADMIN_TOKEN (environment or .env), prints the summary.
// The URL defaults to PUBLIC_URL, then http://127.0.0.1:$PORT. Exits 1 when the broker refuses the request.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { loadEnvFile } from '../src/config.js'

const { values } = parseArgs({ options: { file: { type: 'string' }, url: { type: 'string' } } })
if (!values.file) {
  console.error('usage: npm run import -- --file connections.ndjson [--url http://127.0.0.1:3000]')
  process.exit(2)
}
loadEnvFile()
const token = process.env.ADMIN_TOKEN
if (!token) {
  console.error('ADMIN_TOKEN is not set (environment or .env)')
  process.exit(2)
}
const base = values.url ?? process.env.PUBLIC_URL ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}`
const res = await fetch(new URL('/admin/connections/import/bulk', base), {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
  body: readFileSync(values.file, 'utf8'),
})
const answer = await res.text()
if (!res.ok) {
  console.error(`the broker answered HTTP ${res.status}: ${answer}`)
  process.exit(1)
}
process.stdout.write(`${JSON.stringify(JSON.parse(answer), null, 2)}\n`)
