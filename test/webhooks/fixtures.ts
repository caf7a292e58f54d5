// What only the webhook tests need: a state change committed with its event in one transaction, as the services do,
// and tokens to look for in what leaves the broker.
import type { Db, Database } from '../../src/db/client.js'
import { emitConnectionEvent, type ConnectionEvent } from '../../src/webhooks/outbox.js'

const connectionKeyOf = (row: { namespace: string; providerId: string; userId: string }) => ({
  namespace: row.namespace,
  providerId: row.providerId,
  userId: row.userId,
})

export const ACCESS_TOKEN = 'at-VERY-SECRET-access-token-value'
export const REFRESH_TOKEN = 'rt-VERY-SECRET-refresh-token-value'

/** A status change and its event, committed together. */
export async function changeStatus(
  db: Database,
  connectionId: string,
  type: ConnectionEvent['type'],
  status: string,
  at: Date,
  detail?: ConnectionEvent['detail'],
): Promise<number> {
  return db.transaction(async (tx: Db) => {
    const connection = await tx.prisma.connection.update({ where: { id: connectionId }, data: { status } })
    return emitConnectionEvent(tx, { type, connectionId, ...connectionKeyOf(connection), status, detail }, at)
  })
}
