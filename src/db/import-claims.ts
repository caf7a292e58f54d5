// An import claim marks the one process allowed to import a connection (and so to present its refresh token to the
// provider) until `expires_at`. A process that finds the claim held waits for it to go, then looks again: the import
// before it may have stored that very token already. Times come from the caller's clock, as a lease's do.
import { setTimeout as sleep } from 'node:timers/promises'
import type { Db } from './client.js'
import type { ConnectionKey } from './connections/index.js'
import { leaseTerms, newLeaseOwner, POLL_MS, type LeasePolicy } from './connections/leases.js'

const claim = {
  name: 'import_claim_take',
  text: `
    INSERT INTO import_claims (namespace, provider_id, user_id, owner, expires_at) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (namespace, provider_id, user_id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
    WHERE import_claims.expires_at < $6
    RETURNING owner`,
}

const release = {
  name: 'import_claim_release',
  text: 'DELETE FROM import_claims WHERE namespace = $1 AND provider_id = $2 AND user_id = $3 AND owner = $4',
}

export type ClaimWait<T> = { kind: 'done'; value: T } | { kind: 'timed_out' }

/**
 * Runs `work` holding the import claim of `key`, waiting up to `waitMs` while another process holds it; the claim
 * goes when `work` ends, whatever its outcome (or, if this process dies first, when it expires).
 */
export async function withImportClaim<T>(
  db: Db,
  key: ConnectionKey,
  policy: LeasePolicy & { waitMs: number },
  work: () => Promise<T>,
): Promise<ClaimWait<T>> {
  const owner = newLeaseOwner(policy.instanceId)
  const ids = [key.namespace, key.providerId, key.userId]
  const deadline = Date.now() + policy.waitMs
  for (;;) {
    const { now, until } = leaseTerms(policy, owner)
    const [taken] = await db.sql.rows<{ owner: string }>({ ...claim, values: [...ids, owner, until, now] })
    if (taken) break
    if (Date.now() >= deadline) return { kind: 'timed_out' }
    await sleep(POLL_MS)
  }
  try {
    return { kind: 'done', value: await work() }
  } finally {
    // a claim that cannot be given back (the database went away) expires instead
    await db.sql.rows({ ...release, values: [...ids, owner] }).catch(() => undefined)
  }
}
