// The ceiling of a cold read: a bare Fastify route doing one primary-key read on a pool like the broker's (same
// driver, size and prepared statement), with the broker's logger and level. GET /c/:n reads synthetic connection n.
import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import pg from 'pg'
import { createLogger } from '../dist/logger.js'

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 })
const idOf = (n) => {
  const hex = createHash('md5').update(`bench-connection-${n}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
const read = { name: 'ceiling_by_id', text: 'SELECT * FROM connections WHERE id = $1' }

const app = Fastify({ loggerInstance: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }) })
app.get('/c/:n', async (request) => {
  const { rows } = await pool.query({ ...read, values: [idOf(request.params.n)] })
  return { found: rows.length, userId: rows[0]?.user_id ?? null }
})
app.get('/', async () => ({ ok: true, service: 'ceiling' }))

const shutdown = () =>
  app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0))
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
