import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from './generated/client.js'
import type { Prisma } from './generated/client.js'

/** One SQL statement with its parameters. */
export interface Statement {
  /** Set on statements run often: the driver prepares them once per connection. */
  name?: string
  text: string
  values: unknown[]
}

/** Runs statements and answers their rows. */
export interface Sql {
  rows<Row>(statement: Statement): Promise<Row[]>
}

/**
 * What a repository function runs on: the database, or one transaction of it. `prisma` for the admin paths,
 * `sql` for the statements on the hot paths, which run on the driver (through Prisma a read costs about three times
 * the CPU of the same statement on the driver). Inside a transaction both run in it.
 */
export interface Db {
  prisma: PrismaClient | Prisma.TransactionClient
  sql: Sql
}

export interface TransactionOptions {
  /** How long to wait for a connection of the pool (Prisma's default: 2 s). */
  maxWait?: number
  /** How long the transaction may take (Prisma's default: 5 s). */
  timeout?: number
}

/** The database: repositories take it or a transaction of it; only services open transactions. */
export interface Database extends Db {
  prisma: PrismaClient
  pool: pg.Pool
  transaction<T>(work: (tx: Db) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** Statements sent to the database so far, by this process (Prisma's included): what each path costs. */
  statementCount(): number
  /** Behind a transaction-mode pooler (PgBouncer): no named prepared statements, no session settings. */
  readonly pooled: boolean
  close(): Promise<void>
}

export interface DatabaseOptions {
  url: string
  poolSize?: number
  /** Connections go through a transaction-mode pooler; also said by `pgbouncer=true` in the URL (Prisma's way). */
  pooled?: boolean
}

const STATEMENT_TIMEOUT_MS = 15_000

/** A Prisma client and the driver over one pg pool of our own, so connection limits and timeouts are ours to set. */
export function openDatabase({ url, poolSize = 10, pooled: pooledOption }: DatabaseOptions): Database {
  const connection = new URL(url)
  const pooled = pooledOption ?? connection.searchParams.get('pgbouncer') === 'true'
  connection.searchParams.delete('pgbouncer')
  const pool = new pg.Pool({
    connectionString: connection.href,
    max: poolSize,
    // fail fast while the database is down, so callers get a 503 instead of a hang
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    // a pooler refuses startup parameters it does not know, and a session setting would follow the server
    // connection to another client: behind one, the driver enforces the timeout itself
    ...(pooled ? { query_timeout: STATEMENT_TIMEOUT_MS } : { statement_timeout: STATEMENT_TIMEOUT_MS }),
  })
  pool.on('error', () => {
    // an idle client lost its connection (database restart); the pool replaces it on next use
  })
  let statements = 0
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    client.query = ((...args: unknown[]) => {
      statements += 1
      return query(...args)
    }) as typeof client.query
  })
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
  const sql: Sql = {
    async rows<Row>(statement: Statement) {
      // a named statement is prepared once per server connection, which a pooler shares between clients
      const { text, values } = statement
      const query = pooled || statement.name === undefined ? { text, values } : { name: statement.name, text, values }
      return (await pool.query(query)).rows as Row[]
    },
  }
  return {
    prisma,
    pool,
    sql,
    pooled,
    statementCount: () => statements,
    transaction: (work, options) => prisma.$transaction((tx) => work({ prisma: tx, sql: inTransaction(tx) }), options),
    async close() {
      await prisma.$disconnect()
      await pool.end().catch(() => {})
    },
  }
}

function inTransaction(tx: Prisma.TransactionClient): Sql {
  return { rows: <Row>(statement: Statement) => tx.$queryRawUnsafe<Row[]>(statement.text, ...statement.values) }
}
