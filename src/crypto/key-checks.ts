import { cipherContext, type Keyring } from './keyring.js'
import type { Db } from '../db/client.js'

// The text each check value holds: any value would do, what matters is that it authenticates under its key.
const CHECK_TEXT = 'token-broker encryption key check'
const checkContext = (keyId: string) => cipherContext('encryption_key_checks', keyId, 'check_value')

/** A keyring that cannot open this database's data; its message is one line naming the key id. */
export class KeyCheckError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyCheckError'
  }
}

/**
 * Refuses a keyring that does not match the database before anything is served, rather than answering 500 on the
 * first token read: every key id recorded as possibly in use must be in the ring and its check value must verify
 * under the ring's key of that id. Records the ring's keys: all of them on a database that has no record yet (data
 * may be under any), and the primary key (new data is written under it) otherwise. Safe when instances start at once:
 * a record written by another instance is verified like any other.
 */
export async function verifyKeyring(db: Pick<Db, 'sql'>, keyring: Keyring): Promise<void> {
  let recorded = await readChecks(db)
  const missing = (recorded.length === 0 ? keyring.keyIds : [keyring.primaryKeyId]).filter(
    (id) => !recorded.some((check) => check.keyId === id),
  )
  for (const id of missing) {
    await db.sql.rows({
      text: 'INSERT INTO encryption_key_checks (key_id, check_value) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING',
      values: [id, keyring.encryptUnder(id, CHECK_TEXT, checkContext(id))],
    })
  }
  if (missing.length > 0) recorded = await readChecks(db)

  const known = new Set(keyring.keyIds)
  for (const { keyId, checkValue } of recorded) {
    if (!known.has(keyId)) {
      throw new KeyCheckError(
        `ENCRYPTION_KEYS has no key "${keyId}", which stored data may be encrypted under: add it back ` +
          '(after POST /admin/keys/reencrypt has moved everything to the primary key, it can go)',
      )
    }
    let text: string | undefined
    try {
      text = keyring.decrypt(checkValue, checkContext(keyId))
    } catch {
      // reported below
    }
    if (text !== CHECK_TEXT) {
      throw new KeyCheckError(
        `ENCRYPTION_KEYS: key "${keyId}" is not the key this database's data was encrypted with ` +
          '(its stored check value does not verify)',
      )
    }
  }
}

/**
 * After every stored secret has moved to the primary key, no data is under the other keys any more: their records
 * go, so that those keys can then be removed from ENCRYPTION_KEYS.
 */
export async function forgetRetiredKeys(db: Pick<Db, 'sql'>, keyring: Keyring): Promise<string[]> {
  const rows = await db.sql.rows<{ key_id: string }>({
    text: 'DELETE FROM encryption_key_checks WHERE key_id <> $1 RETURNING key_id',
    values: [keyring.primaryKeyId],
  })
  return rows.map((row) => row.key_id).sort()
}

// on the driver: a start reads these before anything else, and Prisma's query compiler is not loaded for it
async function readChecks(db: Pick<Db, 'sql'>): Promise<{ keyId: string; checkValue: Uint8Array }[]> {
  const rows = await db.sql.rows<{ key_id: string; check_value: Uint8Array }>({
    text: 'SELECT key_id, check_value FROM encryption_key_checks ORDER BY key_id',
    values: [],
  })
  return rows.map((row) => ({ keyId: row.key_id, checkValue: row.check_value }))
}
