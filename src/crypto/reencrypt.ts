import { cipherContext, type Keyring } from './keyring.js'

/**
 * Every encrypted column of the schema. `column` is the name bound into the ciphertext's context
 * (`cipherContext(table, id, column)`); `storedIn` is the bytea column that holds it.
 */
export const encryptedColumns = [
  { table: 'providers', column: 'client_secret', storedIn: 'client_secret_enc' },
  { table: 'providers', column: 'fallback_client_secrets', storedIn: 'fallback_client_secrets_enc' },
  { table: 'providers', column: 'private_key', storedIn: 'private_key_enc' },
  { table: 'connections', column: 'access_token', storedIn: 'access_token_enc' },
  { table: 'connections', column: 'refresh_token', storedIn: 'refresh_token_enc' },
  { table: 'authorization_requests', column: 'code_verifier', storedIn: 'code_verifier_enc' },
  { table: 'authorization_requests', column: 'pending_grant', storedIn: 'pending_grant_enc' },
  { table: 'webhook_endpoints', column: 'secret', storedIn: 'secret_enc' },
] as const

export type EncryptedColumn = (typeof encryptedColumns)[number]
/** `table.column`, one per entry of `encryptedColumns`. */
export type EncryptedColumnName = EncryptedColumn extends infer C
  ? C extends { table: infer T extends string; column: infer K extends string }
    ? `${T}.${K}`
    : never
  : never

export const columnName = ({ table, column }: EncryptedColumn) => `${table}.${column}` as EncryptedColumnName

/** The raw-SQL part of a Prisma client; keeps this module free of Prisma's types. */
export interface RawSql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T>
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
}

export interface ReencryptOptions {
  /** Rows read per query. */
  batchSize?: number
}

export interface ColumnCounts {
  /** Rows holding a value. */
  scanned: number
  /** Values moved to the primary key. */
  reencrypted: number
}

export type ReencryptCounts = Record<EncryptedColumnName, ColumnCounts>

interface StoredValue {
  id: string
  value: Uint8Array
}

/**
 * Moves every stored secret that is not under the keyring's primary key to it. Safe to run while the
 * service runs: each value is replaced only if it still holds the bytes that were read.
 */
export async function reencryptAll(
  db: RawSql,
  keyring: Keyring,
  { batchSize = 500 }: ReencryptOptions = {},
): Promise<ReencryptCounts> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive integer')
  const counts = {} as ReencryptCounts
  for (const target of encryptedColumns) {
    counts[columnName(target)] = await reencryptColumn(db, keyring, target, batchSize)
  }
  return counts
}

async function reencryptColumn(
  db: RawSql,
  keyring: Keyring,
  target: EncryptedColumn,
  batchSize: number,
): Promise<ColumnCounts> {
  const counts: ColumnCounts = { scanned: 0, reencrypted: 0 }
  let after: string | undefined
  for (;;) {
    const rows = await readBatch(db, target, after, batchSize)
    for (const row of rows) {
      counts.scanned++
      if (keyring.isPrimary(row.value)) continue
      if (await replaceValue(db, keyring, target, row)) counts.reencrypted++
    }
    const last = rows.at(-1)
    if (!last || rows.length < batchSize) return counts
    after = last.id
  }
}

/** The next `limit` values after id `after`, in id order (keyset pagination). */
function readBatch(
  db: RawSql,
  { table, storedIn }: EncryptedColumn,
  after: string | undefined,
  limit: number,
): PromiseLike<StoredValue[]> {
  // `t.id` is the column in its own type (text or uuid), not the text it is returned as; the parameter is left
  // untyped so that Postgres compares it in that type too
  const select = `SELECT t.id::text AS id, t."${storedIn}" AS value FROM "${table}" t WHERE t."${storedIn}" IS NOT NULL`
  return after === undefined
    ? db.$queryRawUnsafe<StoredValue[]>(`${select} ORDER BY t.id LIMIT $1`, limit)
    : db.$queryRawUnsafe<StoredValue[]>(`${select} AND t.id > $1 ORDER BY t.id LIMIT $2`, after, limit)
}

/** Re-encrypts one value; false when it changed since it was read, since the new value wins. */
async function replaceValue(
  db: RawSql,
  keyring: Keyring,
  { table, column, storedIn }: EncryptedColumn,
  { id, value }: StoredValue,
): Promise<boolean> {
  const context = cipherContext(table, id, column)
  let plaintext: string
  try {
    plaintext = keyring.decrypt(value, context)
  } catch (cause) {
    throw new Error(`cannot re-encrypt ${table}.${column} of row ${id}: ${(cause as Error).message}`, { cause })
  }
  // Compare-and-set on the old bytes, and nothing else changes (no version, no updated_at): the value is the
  // same secret, so a refresh that read the row before us must still be able to write its own result.
  const updated = await db.$executeRawUnsafe(
    `UPDATE "${table}" SET "${storedIn}" = $1 WHERE id = $2 AND "${storedIn}" = $3`,
    keyring.encrypt(plaintext, context),
    id,
    value,
  )
  return updated === 1
}
