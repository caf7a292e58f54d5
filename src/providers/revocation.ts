// Token revocation at the provider (RFC 7009), for every path that lets go of a grant: a disconnect, a replaced
// account, a grant refused or never confirmed.
import * as client from 'openid-client'
import type { Provider } from '../db/generated/client.js'
import { withClientSecrets } from './client-secrets.js'
import { classifyProviderError } from './failures.js'
import type { ProviderRegistry } from './registry.js'

/** What happened at the provider: `revoked`, `failed`, or `unsupported` (no revocation endpoint). */
export type RevocationOutcome = 'revoked' | 'failed' | 'unsupported'

export interface TokensToRevoke {
  refreshToken?: string | undefined
  accessToken?: string | undefined
}

/**
 * Revokes the refresh token, then the access token (a provider may revoke the whole grant with the first). Never
 * throws: a failure is reported by its code, never with a token.
 */
export async function revokeAtProvider(
  providers: Pick<ProviderRegistry, 'configFor' | 'clientSecretCount'>,
  provider: Provider,
  tokens: TokensToRevoke,
): Promise<{ outcome: RevocationOutcome; error?: string }> {
  let config: client.Configuration
  try {
    config = await providers.configFor(provider)
  } catch (err) {
    return { outcome: 'failed', error: classifyProviderError(err).message }
  }
  if (!config.serverMetadata().revocation_endpoint) return { outcome: 'unsupported' }
  const order: Array<[string | undefined, 'refresh_token' | 'access_token']> = [
    [tokens.refreshToken, 'refresh_token'],
    [tokens.accessToken, 'access_token'],
  ]
  let error: string | undefined
  for (const [token, hint] of order) {
    if (!token) continue
    try {
      await withClientSecrets(providers, provider, (next) =>
        client.tokenRevocation(next, token, { token_type_hint: hint }),
      )
    } catch (err) {
      error ??= `${hint}: ${classifyProviderError(err).message}`
    }
  }
  return error ? { outcome: 'failed', error } : { outcome: 'revoked' }
}
