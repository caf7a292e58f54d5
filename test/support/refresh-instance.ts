// A broker instance in a process of its own that runs one scheduler tick, for tests that kill it mid-refresh.
// Environment: CHILD_DATABASE_URL, INSTANCE_ID, LEASE_SECONDS. Prints "ticking" once the app is ready.
import pino from 'pino'
import { buildApp } from '../../src/app.js'
import { openDatabase } from '../../src/db/client.js'
import { testConfig } from '../helper.js'

const database = openDatabase({ url: process.env.CHILD_DATABASE_URL as string, poolSize: 4 })
const app = await buildApp({
  config: testConfig(),
  database,
  logger: pino({ level: 'silent' }),
  background: false,
  instanceId: process.env.INSTANCE_ID,
  timing: { providerTimeoutSeconds: 60, leaseSeconds: Number(process.env.LEASE_SECONDS ?? 30) },
})
await app.ready()
process.stdout.write('ticking\n')
await app.scheduler.tick()
process.stdout.write('done\n')
await app.close()
await database.close()
