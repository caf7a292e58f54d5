import { forgetRetiredKeys } from '../crypto/key-checks.js'
import { DecryptionError } from '../crypto/keyring.js'
import { reencryptAll, type ColumnCounts } from '../crypto/reencrypt.js'
import { recordAudit, type Actor } from '../db/audit.js'
import type { Prisma } from '../db/generated/client.js'
import type { Deps } from '../deps.js'
import { conflict } from '../errors.js'

export interface ReencryptionReport {
  primaryKeyId: string
  scanned: number
  reencrypted: number
  columns: Record<string, ColumnCounts>
}

/**
 * Moves every stored secret to the keyring's primary key and records who asked and what moved. A value no
 * key of the ring opens (its key was removed too early) stops the run with a conflict naming the row.
 */
export function createKeyRotation(deps: Pick<Deps, 'db' | 'keyring'>) {
  return { reencrypt: (actor: Actor) => reencryptSecrets(deps, actor) }
}

async function reencryptSecrets(
  { db, keyring }: Pick<Deps, 'db' | 'keyring'>,
  actor: Actor,
): Promise<ReencryptionReport> {
  const audit = (action: string, detail: object) =>
    recordAudit(db, {
      actor,
      action,
      subjectType: 'keyring',
      subjectId: keyring.primaryKeyId,
      detail: detail as Prisma.InputJsonObject,
    })
  let columns: Record<string, ColumnCounts>
  try {
    columns = await reencryptAll(db.prisma, keyring)
  } catch (err) {
    if (!(err instanceof Error && err.cause instanceof DecryptionError)) throw err
    await audit('keyring.reencrypt_failed', { error: err.message })
    throw conflict(err.message)
  }
  const counts = Object.values(columns)
  const report = {
    primaryKeyId: keyring.primaryKeyId,
    scanned: counts.reduce((sum, c) => sum + c.scanned, 0),
    reencrypted: counts.reduce((sum, c) => sum + c.reencrypted, 0),
    columns,
  }
  // nothing is under the other keys any more: the start no longer requires them (src/crypto/key-checks.ts)
  const retiredKeyIds = await forgetRetiredKeys(db, keyring)
  await audit('keyring.reencrypted', {
    scanned: report.scanned,
    reencrypted: report.reencrypted,
    columns,
    retiredKeyIds,
  })
  return report
}
