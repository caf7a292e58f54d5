// A typed client for internal callers, generated from openapi.yaml: every path, parameter, body and answer of the
// broker as TypeScript types (client/schema.ts), called through openapi-fetch. Copy this folder into a backend (or
// import it from here) and install openapi-fetch.
import createClient, { type Client } from 'openapi-fetch'
import type { paths } from './schema.js'

export type { components, paths } from './schema.js'

export interface BrokerClientOptions {
  /** The broker's base URL, e.g. http://token-broker:3000 */
  baseUrl: string
  /** The caller's API key (POST /admin/clients), or the admin token for /admin routes. */
  apiKey: string
  fetch?: typeof globalThis.fetch
}

export type BrokerClient = Client<paths>

/** A client that sends `Authorization: Bearer <apiKey>` with every request. */
export function createBrokerClient({ baseUrl, apiKey, fetch }: BrokerClientOptions): BrokerClient {
  return createClient<paths>({ baseUrl, headers: { authorization: `Bearer ${apiKey}` }, ...(fetch ? { fetch } : {}) })
}
