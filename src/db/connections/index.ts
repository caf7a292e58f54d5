// The one home of the `connections` table: every statement and Prisma call on it. Each operation takes the database
// or a transaction of it (`Db`); services decide the transaction boundaries.
export * from './expiry.js'
export * from './leases.js'
export * from './reads.js'
export * from './refresh-writer.js'
export * from './rows.js'
export * from './views.js'
export * from './writes.js'
