// The bench's own Postgres database on the test server (TEST_DATABASE_URL, default 127.0.0.1:5432), copied from
// the migrated template the test suite uses, and dropped at the end of the run.
import pg from 'pg'
import { databaseUrl, ensureTemplate, serverUrl, templateName } from '../../test/support/database.js'

export interface BenchDatabase {
  name: string
  url: string
  drop(): Promise<void>
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  await ensureTemplate()
  const name = `tb_bench_${process.pid}_${Date.now().toString(36)}`
  await admin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${name} TEMPLATE ${templateName}`)
        return
      } catch (err) {
        // a test file is copying the template at this instant; Postgres refuses a second copy
        if (attempt >= 50 || !/being accessed by other users/.test((err as Error).message)) throw err
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200))
      }
    }
  })
  return {
    name,
    url: databaseUrl(name),
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  }
}
