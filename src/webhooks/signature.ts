import { createHmac, randomBytes } from 'node:crypto'

// Signatures follow the Standard Webhooks specification (https://www.standardwebhooks.com): the secret is
// `whsec_` + base64 of 32 random bytes, the key is those bytes, and the signature is
// `v1,` + base64(HMAC-SHA256(key, `${webhookId}.${timestamp}.${body}`)). Receivers can use any library that
// implements it, or the few lines in README.md.
const SECRET_PREFIX = 'whsec_'
const SECRET_BYTES = 32

/** A new signing secret for a webhook endpoint: shown once to its owner, stored encrypted. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64')
}

export type SignedHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/** The three headers of one delivery attempt; `timestamp` is in seconds since the epoch. */
export function signWebhook(secret: string, webhookId: string, timestamp: number, body: string): SignedHeaders {
  if (!secret.startsWith(SECRET_PREFIX)) throw new TypeError('not a webhook signing secret')
  if (!Number.isInteger(timestamp) || timestamp < 0) throw new TypeError('timestamp must be whole seconds')
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
  const mac = createHmac('sha256', key).update(`${webhookId}.${timestamp}.${body}`, 'utf8').digest('base64')
  return { 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${mac}` }
}
