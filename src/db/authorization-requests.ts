import type { Db } from './client.js'

/** What a start link records when a caller asks for it; the rest of the row is filled in as the flow goes on. */
export interface NewAuthorizationRequest {
  id: string
  providerId: string
  clientId: string
  namespace: string
  userId: string
  scopes: string[]
  returnTo: string | null
  expiresAt: Date
  allowAccountChange: boolean
  confirm: boolean
}

// one statement for any number of rows: each column is an array, unnest zips them (scopes travel as JSON, since a
// Postgres array of arrays must be rectangular)
const insertRequests = {
  name: 'insert_authorization_requests',
  text: `INSERT INTO authorization_requests
      (id, provider_id, client_id, namespace, user_id, scopes, return_to, expires_at, allow_account_change, confirm)
    SELECT r.id, r.provider_id, r.client_id, r.namespace, r.user_id,
      ARRAY(SELECT jsonb_array_elements_text(r.scopes)), r.return_to, r.expires_at, r.allow_account_change, r.confirm
    FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::jsonb[], $7::text[],
      $8::timestamptz[], $9::boolean[], $10::boolean[])
      AS r(id, provider_id, client_id, namespace, user_id, scopes, return_to, expires_at, allow_account_change, confirm)`,
}

/** Rows per statement at most. */
export const MAX_INSERT_BATCH = 100

interface Pending {
  row: NewAuthorizationRequest
  resolve(): void
  reject(err: unknown): void
}

export type AuthorizationRequestWriter = ReturnType<typeof createAuthorizationRequestWriter>

/**
 * Inserts start links, gathering those asked for in one turn of the event loop into one statement, as the
 * connection reader does for reads: under load the round trip is most of an insert's cost. When a batch is refused
 * for its data (a provider or caller deleted meanwhile), each row is tried alone, so one row cannot fail the others.
 */
export function createAuthorizationRequestWriter(db: Db) {
  let queue: Pending[] = []

  function flush(): void {
    const pending = queue
    queue = []
    for (let i = 0; i < pending.length; i += MAX_INSERT_BATCH) void write(pending.slice(i, i + MAX_INSERT_BATCH))
  }

  async function write(batch: Pending[]): Promise<void> {
    try {
      await insert(batch.map((p) => p.row))
      for (const p of batch) p.resolve()
    } catch (err) {
      if (batch.length > 1 && isDataError(err)) {
        for (const p of batch) void write([p])
        return
      }
      for (const p of batch) p.reject(err)
    }
  }

  function insert(rows: NewAuthorizationRequest[]): Promise<unknown> {
    return db.sql.rows({
      ...insertRequests,
      values: [
        rows.map((r) => r.id),
        rows.map((r) => r.providerId),
        rows.map((r) => r.clientId),
        rows.map((r) => r.namespace),
        rows.map((r) => r.userId),
        rows.map((r) => JSON.stringify(r.scopes)),
        rows.map((r) => r.returnTo),
        rows.map((r) => r.expiresAt),
        rows.map((r) => r.allowAccountChange),
        rows.map((r) => r.confirm),
      ],
    })
  }

  return {
    insert(row: NewAuthorizationRequest): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush)
        queue.push({ row, resolve, reject })
      })
    },
  }
}

// integrity constraint violations (class 23): the data, not the database, is at fault
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && code.startsWith('23')
}
