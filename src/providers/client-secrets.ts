// A client secret rotation: a provider may hold several client secrets; the first is used, and when the provider
// answers invalid_client the next is tried, so an operator can change the secret at the provider without a window of
// failed calls. The caller is told which secret worked, to put it first.
import type * as client from 'openid-client'
import type { Provider } from '../db/generated/client.js'
import { classifyProviderError } from './failures.js'
import type { ProviderRegistry } from './registry.js'

export const MAX_CLIENT_SECRETS = 5

export interface SecretOutcome<T> {
  result: T
  /** The index of the secret the provider accepted (0: the first). */
  secretIndex: number
}

/** Runs `call` with each of the provider's client secrets in turn while the provider answers invalid_client. */
export async function withClientSecrets<T>(
  providers: Pick<ProviderRegistry, 'configFor' | 'clientSecretCount'>,
  provider: Provider,
  call: (config: client.Configuration) => Promise<T>,
): Promise<SecretOutcome<T>> {
  const count = providers.clientSecretCount(provider)
  for (let secretIndex = 0; ; secretIndex++) {
    const config = await providers.configFor(provider, secretIndex)
    try {
      return { result: await call(config), secretIndex }
    } catch (err) {
      if (secretIndex + 1 >= count || classifyProviderError(err).kind !== 'invalid_client') throw err
    }
  }
}
