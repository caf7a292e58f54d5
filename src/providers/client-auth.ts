import { createPrivateKey, webcrypto, type JsonWebKey, type KeyObject } from 'node:crypto'
import * as client from 'openid-client'

/** How the broker authenticates at a provider's token endpoint. */
export const tokenEndpointAuthMethods = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const
export type TokenEndpointAuthMethod = (typeof tokenEndpointAuthMethods)[number]

/** HTTP Basic client authentication with the credentials as they are, not form-encoded (a template sets `basicCredentials: plain`). */
export function plainClientSecretBasic(clientSecret: string | undefined): client.ClientAuth {
  return (_as, metadata, _body, headers) => {
    const credentials = `${metadata.client_id}:${clientSecret ?? ''}`
    headers.set('authorization', `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`)
  }
}

const RSA_ALGORITHMS: Record<string, webcrypto.RsaHashedImportParams> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384' },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512' },
}

/** A private key as an admin gives it (PKCS#8 or PKCS#1 PEM, or a private JWK), with the JWK's `kid` and `alg`. */
interface ParsedKey {
  jwk: JsonWebKey
  kid?: string
  algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm
}

export class PrivateKeyError extends TypeError {}

/**
 * Reads a private key for RFC 7523 client assertions: RSA (RS256 unless the JWK's `alg` says another RS or PS
 * algorithm), EC P-256/P-384/P-521 or Ed25519. Throws PrivateKeyError, whose message never holds the key.
 */
export function parsePrivateKey(text: string): ParsedKey {
  const trimmed = text.trim()
  let given: JsonWebKey | undefined
  let key: KeyObject
  try {
    if (trimmed.startsWith('{')) {
      given = JSON.parse(trimmed) as JsonWebKey
      key = createPrivateKey({ key: given, format: 'jwk' })
    } else {
      key = createPrivateKey(trimmed)
    }
  } catch {
    throw new PrivateKeyError('privateKey must be a private key as PEM or as a JWK (with its private part)')
  }
  const jwk = key.export({ format: 'jwk' })
  const kid = typeof given?.kid === 'string' ? given.kid : undefined
  const alg = typeof given?.alg === 'string' ? given.alg : undefined
  const withKid = (algorithm: ParsedKey['algorithm']): ParsedKey =>
    kid === undefined ? { jwk, algorithm } : { jwk, kid, algorithm }
  if (jwk.kty === 'RSA') {
    const algorithm = RSA_ALGORITHMS[alg ?? 'RS256']
    if (!algorithm) throw new PrivateKeyError(`privateKey: alg ${alg} does not suit an RSA key`)
    return withKid(algorithm)
  }
  if (jwk.kty === 'EC' && ['P-256', 'P-384', 'P-521'].includes(jwk.crv ?? '')) {
    return withKid({ name: 'ECDSA', namedCurve: jwk.crv as string })
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return withKid({ name: 'Ed25519' })
  throw new PrivateKeyError('privateKey must be an RSA, EC (P-256, P-384, P-521) or Ed25519 key')
}

/** RFC 7523 `private_key_jwt` client authentication with a stored key (a non-extractable CryptoKey). */
export async function privateKeyJwt(text: string): Promise<client.ClientAuth> {
  const { jwk, kid, algorithm } = parsePrivateKey(text)
  const key = await webcrypto.subtle.importKey('jwk', jwk, algorithm, false, ['sign'])
  return client.PrivateKeyJwt(kid === undefined ? key : { key, kid })
}
