// A broker in its own process, for the crash test: it commits a state change with its event and reports it on
// stdout, then runs its webhook sender (mode `send`) or not (mode `idle`) until it is killed.
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/client.js'
import { testConfig } from '../helper.js'
import { changeStatus } from './fixtures.js'

const [mode, databaseUrl, connectionId] = process.argv.slice(2)
if ((mode !== 'send' && mode !== 'idle') || !databaseUrl || !connectionId) {
  console.error('usage: broker-process.ts send|idle <database url> <connection id>')
  process.exit(2)
}
const database = openDatabase({ url: databaseUrl, poolSize: 2 })
const app = await buildApp({
  config: testConfig(),
  database,
  logger: pino({ level: 'silent' }),
  background: mode === 'send',
  instanceId: 'doomed-instance',
  webhooks: { pollIntervalMs: 20 },
})
await app.ready()
const written = await changeStatus(
  database,
  connectionId,
  'connection.reauthorization_required',
  'reauthorization_required',
  new Date(),
)
process.stdout.write(`committed ${written}\n`)
setInterval(() => {}, 60_000)
