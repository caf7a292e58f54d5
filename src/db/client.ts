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
  close(): Promise<void>
}

export interface DatabaseOptions {
  url: string
  poolSize?: number
}

/** A Prisma client and the driver over one pg pool of our own, so connection limits and timeouts are ours to set. */
export function openDatabase({ url, poolSize = 10 }: DatabaseOptions): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // fail fast while the database is down, so callers get a 503 instead of a hang
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: 15_000,
  })
  pool.on('error', () => {
    // an idle client lost its connection (database restart); the pool replaces it on next use
  })
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) })
  const sql: Sql = {
    async rows<Row>(statement: Statement) {
      return (await pool.query(statement as { text: string; values: unknown[] })).rows as Row[]
    },
  }
  return {
    prisma,
    pool,
    sql,
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
