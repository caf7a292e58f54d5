import * as client from 'openid-client'
import { cipherContext, type Keyring } from '../crypto/keyring.js'
import type { Provider } from '../db/generated/client.js'
import type { Logger } from 'pino'
import { plainClientSecretBasic, privateKeyJwt } from './client-auth.js'
import { dialectOf, withDialect, type Dialect } from './dialect.js'
import { createProviderHttp, providerHttpOf, type ProviderHttp } from './http.js'
import type { TemplateCatalogue } from './templates/catalogue.js'
import { isHttpsOrLoopback, isLoopback } from '../urls/rules.js'

export interface RegistryOptions {
  keyring: Keyring
  /** Every request to a provider goes through it; tests pass one that reaches a fault. */
  fetch?: typeof globalThis.fetch
  /** Per-request timeout for calls to providers. */
  timeoutSeconds: number
  /** Where a provider's quirks come from: the template it names. */
  templates: TemplateCatalogue
  log: Pick<Logger, 'warn'>
}

/** The context a provider's client secret is bound to at rest. */
export const clientSecretContext = (providerId: string) => cipherContext('providers', providerId, 'client_secret')
/** The context of the secrets tried after the first during a client secret rotation (a JSON list). */
export const fallbackClientSecretsContext = (providerId: string) =>
  cipherContext('providers', providerId, 'fallback_client_secrets')
/** The context of a provider's private_key_jwt key at rest. */
export const privateKeyContext = (providerId: string) => cipherContext('providers', providerId, 'private_key')

/**
 * Turns a stored provider into an openid-client Configuration: by discovery when it has an issuer, from its
 * endpoint URLs otherwise. Cached per provider version, so discovery runs once per change, not per request.
 */
export class ProviderRegistry {
  readonly #options: RegistryOptions
  readonly #cache = new Map<string, { version: number; config: Promise<client.Configuration> }>()
  readonly #http: ProviderHttp
  readonly #invalidated: ((providerId: string) => void)[] = []

  constructor(options: RegistryOptions) {
    this.#options = options
    // a fetch given by a test is used as it is
    this.#http = options.fetch ? providerHttpOf(options.fetch) : createProviderHttp()
  }

  /** Every call to a provider goes through this fetch (the provider check too). */
  get fetch(): typeof globalThis.fetch {
    return this.#http.fetch
  }

  /** How the provider speaks OAuth: its template's dialect, or plain RFC 6749. */
  dialectFor(provider: Pick<Provider, 'id' | 'preset'>): Dialect {
    return dialectOf(this.#templateOf(provider))
  }

  #templateOf(provider: Pick<Provider, 'id' | 'preset'>) {
    if (provider.preset === null) return undefined
    const template = this.#options.templates.get(provider.preset)
    if (!template) {
      this.#options.log.warn(
        { provider: provider.id, template: provider.preset },
        'the provider names a template that is not in the catalogue: its quirks are not applied',
      )
    }
    return template
  }

  /**
   * The configuration that authenticates with the provider's client secret number `secretIndex` (0: the first; the
   * others are tried during a rotation, see `clientSecrets`).
   */
  configFor(provider: Provider, secretIndex = 0): Promise<client.Configuration> {
    const version = provider.updatedAt.getTime()
    const key = secretIndex === 0 ? provider.id : `${provider.id}\u0000${secretIndex}`
    const cached = this.#cache.get(key)
    if (cached && cached.version === version) return cached.config
    const config = this.#build(provider, secretIndex)
    this.#cache.set(key, { version, config })
    // a failed discovery is not cached: the next call tries again
    config.catch(() => {
      if (this.#cache.get(key)?.config === config) this.#cache.delete(key)
    })
    return config
  }

  /** The provider's client secrets in the order they are tried: the first, then those of a rotation. */
  clientSecrets(provider: Pick<Provider, 'id' | 'clientSecretEnc' | 'fallbackClientSecretsEnc'>): string[] {
    const { keyring } = this.#options
    if (!provider.clientSecretEnc) return []
    const first = keyring.decrypt(provider.clientSecretEnc, clientSecretContext(provider.id))
    if (!provider.fallbackClientSecretsEnc) return [first]
    const rest = JSON.parse(
      keyring.decrypt(provider.fallbackClientSecretsEnc, fallbackClientSecretsContext(provider.id)),
    ) as string[]
    return [first, ...rest]
  }

  /** How many client secrets there are to try: one configuration per secret (one for private_key_jwt). */
  clientSecretCount(provider: Provider): number {
    if (provider.tokenEndpointAuthMethod === 'private_key_jwt' || !provider.fallbackClientSecretsEnc) return 1
    return this.clientSecrets(provider).length
  }

  invalidate(providerId: string): void {
    for (const key of this.#cache.keys()) {
      if (key === providerId || key.startsWith(`${providerId}\u0000`)) this.#cache.delete(key)
    }
    for (const listener of this.#invalidated) listener(providerId)
  }

  /** Calls `listener` whenever a provider changed, so what others keep of it can be dropped too. */
  onInvalidate(listener: (providerId: string) => void): void {
    this.#invalidated.push(listener)
  }

  async #build(provider: Provider, secretIndex: number): Promise<client.Configuration> {
    const secret =
      secretIndex === 0 && provider.clientSecretEnc
        ? this.#options.keyring.decrypt(provider.clientSecretEnc, clientSecretContext(provider.id))
        : this.clientSecrets(provider)[secretIndex]
    const template = this.#templateOf(provider)
    const auth =
      provider.tokenEndpointAuthMethod === 'private_key_jwt'
        ? await this.#privateKeyJwt(provider)
        : provider.tokenEndpointAuthMethod === 'client_secret_post'
          ? client.ClientSecretPost(secret)
          : provider.tokenEndpointAuthMethod === 'none'
            ? client.None()
            : template?.basicCredentials === 'plain'
              ? plainClientSecretBasic(secret)
              : client.ClientSecretBasic(secret)
    const fetch = withDialect(this.#http, dialectOf(template))
    let config: client.Configuration
    if (provider.issuer) {
      config = await this.#discover(provider, auth, fetch)
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

  #privateKeyJwt(provider: Provider): Promise<client.ClientAuth> {
    if (!provider.privateKeyEnc) throw new Error(`provider ${provider.id} uses private_key_jwt but has no private key`)
    return privateKeyJwt(this.#options.keyring.decrypt(provider.privateKeyEnc, privateKeyContext(provider.id)))
  }

  async #discover(
    provider: Provider,
    auth: client.ClientAuth,
    fetch: typeof globalThis.fetch,
  ): Promise<client.Configuration> {
    const issuer = new URL(provider.issuer as string)
    const insecure = isLoopback(issuer) && issuer.protocol === 'http:'
    let config: client.Configuration
    try {
      config = await client.discovery(issuer, provider.clientId, undefined, auth, {
        execute: insecure ? [client.allowInsecureRequests] : [],
        timeout: this.#options.timeoutSeconds,
        [client.customFetch]: fetch,
      })
    } catch (err) {
      this.#options.log.warn(
        { provider: provider.id, url: discoveryUrl(issuer), errorCode: errorCodeOf(err) },
        'discovery failed',
      )
      throw err
    }
    const { supportsPKCE: _helper, ...metadata } = config.serverMetadata()
    // what a document names obeys the rule configured endpoints do: a loopback issuer does not make its endpoints so
    const insecureEndpoint = DISCOVERED_ENDPOINTS.find((name) => {
      const value = metadata[name]
      return typeof value === 'string' && !(URL.canParse(value) && isHttpsOrLoopback(new URL(value)))
    })
    if (insecureEndpoint) {
      this.#options.log.warn(
        { provider: provider.id, url: discoveryUrl(issuer), endpoint: insecureEndpoint },
        'discovery names an endpoint that is not https: refused',
      )
      throw Object.assign(new TypeError(`the discovered ${insecureEndpoint} is not https`), {
        code: 'DISCOVERED_ENDPOINT_NOT_HTTPS',
      })
    }
    // a revocation endpoint the discovery document does not list may be configured beside the issuer
    if (!provider.revocationEndpoint || metadata.revocation_endpoint) return config
    const withRevocation = new client.Configuration(
      { ...metadata, revocation_endpoint: provider.revocationEndpoint },
      provider.clientId,
      undefined,
      auth,
    )
    if (insecure || new URL(provider.revocationEndpoint).protocol === 'http:')
      client.allowInsecureRequests(withRevocation)
    return withRevocation
  }
}

/** The endpoints of a discovery document the broker or the browser is sent to. */
const DISCOVERED_ENDPOINTS = [
  'authorization_endpoint',
  'token_endpoint',
  'revocation_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'introspection_endpoint',
  'pushed_authorization_request_endpoint',
] as const

/** Where OpenID Connect Discovery 1.0 §4 looks for the issuer's document. */
export function discoveryUrl(issuer: URL): string {
  return `${issuer.href.replace(/\/$/, '')}/.well-known/openid-configuration`
}

/** An error's own code (OAUTH_RESPONSE_IS_NOT_CONFORM, ECONNREFUSED, an OAuth error), never its message. */
export function errorCodeOf(err: unknown): string {
  const seen = new Set<unknown>()
  for (let current = err; current && !seen.has(current); current = (current as { cause?: unknown }).cause) {
    seen.add(current)
    const { code, error } = current as { code?: unknown; error?: unknown }
    if (typeof code === 'string' && code !== 'ERR_INVALID_ARG_VALUE') return code
    if (typeof error === 'string') return error
  }
  return err instanceof Error ? err.name : 'unknown'
}
