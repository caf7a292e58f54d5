import { cipherContext, type Keyring } from '../crypto/keyring.js'
import { Secret } from '../crypto/secret.js'

export const accessTokenContext = (connectionId: string) => cipherContext('connections', connectionId, 'access_token')
export const refreshTokenContext = (connectionId: string) => cipherContext('connections', connectionId, 'refresh_token')

/** Tokens as a provider granted them, decrypted. */
export interface GrantedTokens {
  accessToken: Secret
  refreshToken?: Secret
  tokenType: string
  scope?: string
  /** Seconds the provider said the access token lives; absent when it did not say. */
  expiresIn?: number
  /** Seconds the provider said the refresh token lives (`refresh_token_expires_in`). */
  refreshTokenExpiresIn?: number
}

export interface SealedTokens {
  accessTokenEnc: Uint8Array<ArrayBuffer>
  refreshTokenEnc?: Uint8Array<ArrayBuffer>
}

/** Encrypts tokens for the connection row `connectionId`; the ciphertexts only decrypt in that row. */
export function sealTokens(keyring: Keyring, connectionId: string, tokens: GrantedTokens): SealedTokens {
  const sealed: SealedTokens = {
    accessTokenEnc: keyring.encrypt(tokens.accessToken.reveal(), accessTokenContext(connectionId)),
  }
  if (tokens.refreshToken) {
    sealed.refreshTokenEnc = keyring.encrypt(tokens.refreshToken.reveal(), refreshTokenContext(connectionId))
  }
  return sealed
}

export function openAccessToken(keyring: Keyring, row: { id: string; accessTokenEnc: Uint8Array }): Secret {
  return new Secret(keyring.decrypt(row.accessTokenEnc, accessTokenContext(row.id)))
}

export function openRefreshToken(
  keyring: Keyring,
  row: { id: string; refreshTokenEnc: Uint8Array | null },
): Secret | undefined {
  return row.refreshTokenEnc ? new Secret(keyring.decrypt(row.refreshTokenEnc, refreshTokenContext(row.id))) : undefined
}
