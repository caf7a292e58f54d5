import { Prisma } from './generated/client.js'

/** A unique constraint refused the write (Prisma P2002): the row was created concurrently, or already exists. */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002'
}

// Prisma's codes for an unreachable server, a timeout, a closed connection, an exhausted pool or a transaction that
// could not start; the driver's kinds for the same; and Postgres' own states while it shuts down, starts up or is
// full (SQLSTATE class 08, 57P01-57P03, 53300).
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028'])
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'])
const UNAVAILABLE_STATES = /^(08|57P0[123]$|53300$)/
// node-postgres' own failures, which the driver adapter passes through unchanged or a direct read on the pool meets
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
])

/** The database could not be reached or could not serve the query now (as opposed to a query it refused). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientInitializationError) return true
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNAVAILABLE_CODES.has(err.code)) return true
    const cause = (err.meta?.driverAdapterError as { cause?: { kind?: string; originalCode?: string } } | undefined)
      ?.cause
    if (cause?.kind && UNAVAILABLE_KINDS.has(cause.kind)) return true
    return typeof cause?.originalCode === 'string' && UNAVAILABLE_STATES.test(cause.originalCode)
  }
  if (!(err instanceof Error)) return false
  // a transaction that could not start in time is thrown as Prisma's own error class, with the code; node-postgres
  // errors carry a socket error code or the server's SQLSTATE
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (UNAVAILABLE_CODES.has(code) || SOCKET_CODES.has(code) || UNAVAILABLE_STATES.test(code)) return true
  }
  return DRIVER_MESSAGES.test(err.message)
}
