import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from './generated/client.js'
import type { Prisma } from './generated/client.js'

export type Db = PrismaClient
/** A repository function takes either the client or a transaction; only services open transactions. */
export type DbClient = PrismaClient | Prisma.TransactionClient

export interface DatabaseOptions {
  url: string
  poolSize?: number
}

export interface Database {
  prisma: PrismaClient
  pool: pg.Pool
  close(): Promise<void>
}

const pools = new WeakMap<PrismaClient, pg.Pool>()

/** The pool under a client made by openDatabase: for the one read too frequent to pay Prisma's cost per query. */
export function poolOf(prisma: PrismaClient): pg.Pool | undefined {
  return pools.get(prisma)
}

/** A Prisma client over our own pg pool, so connection limits and timeouts are ours to set. */
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
  pools.set(prisma, pool)
  return {
    prisma,
    pool,
    async close() {
      await prisma.$disconnect()
      await pool.end().catch(() => {})
    },
  }
}
