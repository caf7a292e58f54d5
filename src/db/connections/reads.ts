import type { Db } from '../client.js'
import type { Connection } from '../generated/client.js'
import { toConnection, type ConnectionRow, type ConnectionWithProvider } from './rows.js'

/** A connection is identified by its namespace, its provider and the callers' id of the user. */
export interface ConnectionKey {
  namespace: string
  providerId: string
  userId: string
}

export function findConnection(db: Db, id: string): Promise<Connection | null> {
  return db.prisma.connection.findUnique({ where: { id } })
}

export function findConnectionWithProvider(
  db: Db,
  which: { id: string } | ConnectionKey,
): Promise<ConnectionWithProvider | null> {
  if ('id' in which) return db.prisma.connection.findUnique({ where: { id: which.id }, include: { provider: true } })
  const { namespace, providerId, userId } = which
  return db.prisma.connection.findUnique({
    where: { namespace_providerId_userId: { namespace, providerId, userId } },
    include: { provider: true },
  })
}

/** What an import needs to know of the connection it would replace: its kind and the digest of its last import. */
export function findImportState(
  db: Db,
  { namespace, providerId, userId }: ConnectionKey,
): Promise<{ id: string; grantType: string; importDigest: Uint8Array | null } | null> {
  return db.prisma.connection.findUnique({
    where: { namespace_providerId_userId: { namespace, providerId, userId } },
    select: { id: true, grantType: true, importDigest: true },
  })
}

const byUser = {
  name: 'connection_by_key',
  text: 'SELECT * FROM connections WHERE namespace = $1 AND provider_id = $2 AND user_id = $3',
}

const byUsers = {
  name: 'connections_by_keys',
  text: 'SELECT * FROM connections WHERE namespace = $1 AND provider_id = $2 AND user_id = ANY($3::text[])',
}

/** Reads per statement at most: a batch stays one short index scan. */
export const MAX_BATCH = 100

interface Pending {
  resolve(connection: Connection | null): void
  reject(err: unknown): void
}

export type ConnectionReader = ReturnType<typeof createConnectionReader>

/**
 * Reads connections by key, gathering the reads asked for in one turn of the event loop into one statement per
 * namespace and provider. Under load most of a cold read's cost is the round trip itself (the socket write alone was about half of
 * it in the benchmark's profile), so a hundred concurrent cold reads cost a few statements instead of a hundred. A
 * read alone waits one turn of the event loop, no more; a read of a connection already being read shares that read
 * (when a busy user's cached token expires, the requests waiting for it read once).
 */
export function createConnectionReader(db: Db) {
  const inFlight = new Map<string, Promise<Connection | null>>()
  // namespace and provider → user → the read waiting for it
  let batch = new Map<string, { namespace: string; providerId: string; users: Map<string, Pending> }>()
  let scheduled = false

  function flush(): void {
    scheduled = false
    const batches = batch
    batch = new Map()
    for (const { namespace, providerId, users } of batches.values()) {
      const userIds = [...users.keys()]
      for (let i = 0; i < userIds.length; i += MAX_BATCH) {
        void readBatch(namespace, providerId, userIds.slice(i, i + MAX_BATCH), users)
      }
    }
  }

  async function readBatch(
    namespace: string,
    providerId: string,
    userIds: string[],
    pending: Map<string, Pending>,
  ): Promise<void> {
    try {
      const rows =
        userIds.length === 1
          ? await db.sql.rows<ConnectionRow>({ ...byUser, values: [namespace, providerId, userIds[0]] })
          : await db.sql.rows<ConnectionRow>({ ...byUsers, values: [namespace, providerId, userIds] })
      const found = new Map(rows.map((row) => [row.user_id, row]))
      for (const userId of userIds) {
        const row = found.get(userId)
        pending.get(userId)?.resolve(row ? toConnection(row) : null)
      }
    } catch (err) {
      for (const userId of userIds) pending.get(userId)?.reject(err)
    }
  }

  return {
    /** The connection of `key`, as `prisma.connection.findUnique` returns it. */
    read({ namespace, providerId, userId }: ConnectionKey): Promise<Connection | null> {
      const group = `${namespace}\u0000${providerId}`
      const key = `${group}\u0000${userId}`
      const known = inFlight.get(key)
      if (known) return known
      const read = new Promise<Connection | null>((resolve, reject) => {
        let entry = batch.get(group)
        if (!entry) batch.set(group, (entry = { namespace, providerId, users: new Map() }))
        entry.users.set(userId, { resolve, reject })
        if (!scheduled) {
          scheduled = true
          setImmediate(flush)
        }
      }).finally(() => inFlight.delete(key))
      inFlight.set(key, read)
      return read
    },
  }
}
