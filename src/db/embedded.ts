import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export interface EmbeddedDatabase {
  url: string
  /**
   * How many connections a pool may open to it: one. PGlite is a single Postgres session that the socket
   * server shares between connections message by message, so when a statement fails on one connection the
   * session discards the other connections' messages until its Sync, and their queries fail with
   * "unnamed prepared statement does not exist". PGlite runs one statement at a time anyway.
   */
  poolSize: number
  close(): Promise<void>
}

/**
 * PGlite, a real Postgres compiled to WebAssembly, kept in `dataDir` and served on a loopback port so that the
 * service talks to it through the same driver, adapter and migrations as to a Postgres server.
 */
export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const dir = join(dataDir, 'pglite')
  mkdirSync(dir, { recursive: true })
  const db = await PGlite.create(dir)
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 })
  await server.start()
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`,
    poolSize: 1,
    async close() {
      await server.stop()
      await db.close()
    },
  }
}
