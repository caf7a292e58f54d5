// The baseline: a bare Fastify route returning a constant small JSON, with the broker's own logger and level, so
// the bench can report the broker's throughput as a fraction of what Fastify does on this machine right now.
import Fastify from 'fastify'
import { createLogger } from '../dist/logger.js'

const app = Fastify({ loggerInstance: createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }) })
app.get('/', async () => ({ ok: true, service: 'baseline' }))

const shutdown = () => app.close().then(() => process.exit(0))
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
