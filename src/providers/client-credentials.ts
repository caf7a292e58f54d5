import * as client from 'openid-client'
import type { Provider } from '../db/generated/client.js'
import type { ProviderRegistry } from './registry.js'

/**
 * The client-credentials grant (RFC 6749 §4.4): a token for the broker's own client at the provider, no user involved.
 * Scopes are sent as the provider's template writes them.
 */
export async function requestClientCredentials(
  registry: Pick<ProviderRegistry, 'configFor' | 'dialectFor'>,
  provider: Provider,
  scopes: readonly string[],
  /** The client configuration to use (one of the provider's client secrets); the registry's by default. */
  given?: client.Configuration,
): Promise<client.TokenEndpointResponse> {
  const config = given ?? (await registry.configFor(provider))
  const dialect = registry.dialectFor(provider)
  const params: Record<string, string> = {}
  if (scopes.length > 0) params[dialect.scopeParameter] = scopes.join(dialect.scopeSeparator)
  return client.clientCredentialsGrant(config, params)
}
