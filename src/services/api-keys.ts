import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** How every API key starts. */
export const API_KEY_PREFIX = 'tbk_'

/** A new API key: shown once to the admin; only its hash is stored. */
export function generateApiKey(): { apiKey: string; keyHash: Uint8Array<ArrayBuffer>; keyPrefix: string } {
  const apiKey = API_KEY_PREFIX + randomBytes(32).toString('base64url')
  return { apiKey, keyHash: hashApiKey(apiKey), keyPrefix: apiKey.slice(0, API_KEY_PREFIX.length + 6) }
}

// Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
export function hashApiKey(apiKey: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(apiKey, 'utf8').digest())
}

/** Compares two secrets in time independent of where they differ (and of their lengths). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest()
  const hb = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(ha, hb)
}
