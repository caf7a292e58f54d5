import * as client from 'openid-client'
import { cipherContext, type Keyring } from '../crypto/keyring.js'
import type { Provider } from '../db/generated/client.js'
import { plainClientSecretBasic } from './client-auth.js'
import { basicCredentialsEncoding } from './presets.js'
import { createProviderFetch } from './http.js'
import { withDefaultTokenType } from './token-type.js'
import { isLoopback } from '../urls/rules.js'

export interface RegistryOptions {
  keyring: Keyring
  /** Every request to a provider goes through it; tests pass one that reaches a fault. */
  fetch?: typeof globalThis.fetch
  /** Per-request timeout for calls to providers. */
  timeoutSeconds: number
}

/** The context a provider's client secret is bound to at rest. */
export const clientSecretContext = (providerId: string) => cipherContext('providers', providerId, 'client_secret')

/**
 * Turns a stored provider into an openid-client Configuration: by discovery when it has an issuer, from its
 * endpoint URLs otherwise. Cached per provider version, so discovery runs once per change, not per request.
 */
export class ProviderRegistry {
  readonly #options: RegistryOptions
  readonly #cache = new Map<string, { version: number; config: Promise<client.Configuration> }>()
  readonly #fetch: typeof globalThis.fetch

  constructor(options: RegistryOptions) {
    this.#options = options
    this.#fetch = withDefaultTokenType(options.fetch ?? createProviderFetch())
  }

  configFor(provider: Provider): Promise<client.Configuration> {
    const version = provider.updatedAt.getTime()
    const cached = this.#cache.get(provider.id)
    if (cached && cached.version === version) return cached.config
    const config = this.#build(provider)
    this.#cache.set(provider.id, { version, config })
    // a failed discovery is not cached: the next call tries again
    config.catch(() => {
      if (this.#cache.get(provider.id)?.config === config) this.#cache.delete(provider.id)
    })
    return config
  }

  invalidate(providerId: string): void {
    this.#cache.delete(providerId)
  }

  async #build(provider: Provider): Promise<client.Configuration> {
    const secret = provider.clientSecretEnc
      ? this.#options.keyring.decrypt(provider.clientSecretEnc, clientSecretContext(provider.id))
      : undefined
    const auth =
      provider.tokenEndpointAuthMethod === 'client_secret_post'
        ? client.ClientSecretPost(secret)
        : provider.tokenEndpointAuthMethod === 'none'
          ? client.None()
          : basicCredentialsEncoding(provider.preset) === 'plain'
            ? plainClientSecretBasic(secret)
            : client.ClientSecretBasic(secret)
    const fetch = this.#fetch
    let config: client.Configuration
    if (provider.issuer) {
      const issuer = new URL(provider.issuer)
      config = await client.discovery(issuer, provider.clientId, undefined, auth, {
        execute: isLoopback(issuer) && issuer.protocol === 'http:' ? [client.allowInsecureRequests] : [],
        timeout: this.#options.timeoutSeconds,
        [client.customFetch]: fetch,
      })
    } else {
      const authorizationEndpoint = new URL(provider.authorizationEndpoint as string)
      const server: client.ServerMetadata = {
        // plain OAuth 2.0 servers have no issuer identifier; their origin stands in for `iss` checks
        issuer: authorizationEndpoint.origin,
        authorization_endpoint: authorizationEndpoint.href,
        token_endpoint: provider.tokenEndpoint as string,
        ...(provider.revocationEndpoint ? { revocation_endpoint: provider.revocationEndpoint } : {}),
      }
      config = new client.Configuration(server, provider.clientId, undefined, auth)
      const endpoints = [server.authorization_endpoint, server.token_endpoint, server.revocation_endpoint]
      if (endpoints.some((url) => url && new URL(url).protocol === 'http:')) client.allowInsecureRequests(config)
    }
    config.timeout = this.#options.timeoutSeconds
    config[client.customFetch] = fetch
    return config
  }
}
