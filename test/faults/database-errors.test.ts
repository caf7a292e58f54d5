// Which database failures mean "unavailable, try again" (503) rather than a bug (500).
import t from 'tap'
import { isDatabaseUnavailable } from '../../src/db/errors.js'
import { Prisma } from '../../src/db/generated/client.js'

const known = (code: string, cause?: Record<string, unknown>) =>
  new Prisma.PrismaClientKnownRequestError('failed', {
    code,
    clientVersion: '7',
    meta: cause ? { driverAdapterError: { name: 'DriverAdapterError', cause } } : {},
  })

t.test('unreachable, closed, timed out, shutting down, full', async (t) => {
  for (const err of [
    known('P1001', { kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5432 }),
    known('P2010', { kind: 'DatabaseNotReachable' }),
    known('P1017'),
    known('P2024'),
    known('P2028'),
    known('P2039', { kind: 'postgres', originalCode: '57P01', code: '57P01' }),
    known('P2039', { kind: 'postgres', originalCode: '57P03' }),
    known('P2039', { kind: 'postgres', originalCode: '08006' }),
    known('P2039', { kind: 'ConnectionClosed' }),
    known('P2039', { kind: 'TooManyConnections' }),
    new Prisma.PrismaClientInitializationError("Can't reach database server", '7'),
    new Error('timeout exceeded when trying to connect'),
    new Error('Connection terminated unexpectedly'),
    Object.assign(new Error('Transaction API error: Unable to start a transaction in the given time.'), {
      code: 'P2028',
    }),
    // node-postgres, read directly on the pool
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
    Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
    Object.assign(new Error('sorry, too many clients already'), { code: '53300' }),
  ]) {
    t.ok(isDatabaseUnavailable(err), `${err.constructor.name} ${(err as { code?: string }).code ?? err.message}`)
  }
})

t.test('refusals and bugs are not', async (t) => {
  for (const err of [
    known('P2002', { kind: 'UniqueConstraintViolation' }),
    known('P2025'),
    known('P2039', { kind: 'postgres', originalCode: '42P01' }),
    known('P2039', { kind: 'postgres', originalCode: '57014' }),
    Object.assign(new Error('relation "connections" does not exist'), { code: '42P01' }),
    Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' }),
    new Prisma.PrismaClientValidationError('Argument take: Invalid value', { clientVersion: '7' }),
    new TypeError("Cannot read properties of undefined (reading 'id')"),
    'a string',
    undefined,
  ]) {
    t.notOk(isDatabaseUnavailable(err), String(err instanceof Error ? err.message : err))
  }
})
