// Synthetic stored connections, fast: row ids are derived from the row number (md5 → uuid) on both sides, so Node
// can encrypt each row's tokens with the associated data that binds them to that row, ship a batch of ciphertexts
// as one binary parameter, and let Postgres cut it into rows with INSERT … SELECT generate_series. The tokens are
// not valid at any provider: GET /tokens only decrypts a stored access token, and these expire in a month, so
// neither a request nor the scheduler ever tries to refresh them during a run.
import { createHash } from 'node:crypto'
import type pg from 'pg'
import type { Keyring } from '../../src/crypto/keyring.js'
import { accessTokenContext, refreshTokenContext } from '../../src/services/connection-tokens.js'

const DAY_MS = 24 * 60 * 60 * 1000

export const syntheticUserId = (n: number) => `user-${String(n).padStart(7, '0')}`

export function syntheticConnectionId(n: number): string {
  const hex = createHash('md5').update(`bench-connection-${n}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

// Both 43 characters, the length of oidc-provider's opaque tokens: every ciphertext of a batch has one length.
// (up to 99,999,999 connections)
const accessToken = (n: number) => `bench-at-${String(n).padStart(8, '0')}-${'a'.repeat(25)}`
const refreshToken = (n: number) => `bench-rt-${String(n).padStart(8, '0')}-${'r'.repeat(25)}`

const insertBatch = `
  INSERT INTO connections (id, provider_id, user_id, status, access_token_enc, refresh_token_enc, token_type, scope,
                           expires_at, lifetime_seconds, next_refresh_at, updated_at)
  -- the user id of syntheticUserId (lpad would cut numbers longer than 7 digits)
  SELECT md5('bench-connection-' || n)::uuid, $1, 'user-' || repeat('0', greatest(0, 7 - length(n::text))) || n::text,
         'active',
         substring($2::bytea from (n - $4) * $5 + 1 for $5),
         substring($3::bytea from (n - $4) * $6 + 1 for $6),
         'Bearer', 'openid',
         $7::timestamptz + make_interval(secs => n % 86400 + 300), 3600,
         $7::timestamptz + make_interval(secs => n % 86400), now()
  FROM generate_series($4::int, $4::int + $8::int - 1) AS n`

function sealBatch(keyring: Keyring, first: number, count: number) {
  const access: Uint8Array[] = []
  const refresh: Uint8Array[] = []
  for (let n = first; n < first + count; n++) {
    const id = syntheticConnectionId(n)
    access.push(keyring.encrypt(accessToken(n), accessTokenContext(id)))
    refresh.push(keyring.encrypt(refreshToken(n), refreshTokenContext(id)))
  }
  return {
    access: Buffer.concat(access),
    accessLength: (access[0] as Uint8Array).length,
    refresh: Buffer.concat(refresh),
    refreshLength: (refresh[0] as Uint8Array).length,
  }
}

/** Stores connections numbered first … first+count-1 (users `user-0000001` …); resolves with the seconds taken. */
export async function seedConnections(
  pool: pg.Pool,
  keyring: Keyring,
  { providerId, first, count, batch = 20_000 }: { providerId: string; first: number; count: number; batch?: number },
): Promise<number> {
  const started = performance.now()
  // a month out, spread over a day: never due during a run, and an index shaped like a real population's
  const refreshFrom = new Date(Date.now() + 30 * DAY_MS)
  let pending: Promise<unknown> = Promise.resolve()
  for (let from = first; from < first + count; from += batch) {
    const size = Math.min(batch, first + count - from)
    const sealed = sealBatch(keyring, from, size) // encrypts the next batch while Postgres inserts the previous
    await pending
    pending = pool.query(insertBatch, [
      providerId,
      sealed.access,
      sealed.refresh,
      from,
      sealed.accessLength,
      sealed.refreshLength,
      refreshFrom,
      size,
    ])
  }
  await pending
  await pool.query('ANALYZE connections')
  return (performance.now() - started) / 1000
}
