import type { Agent } from 'undici'
import { loadUndici } from './undici.js'

// The fetch openid-client calls providers with. Node's global fetch builds web streams for the request body, tees
// the request, and streams the response: on a scheduled refresh that was a quarter of the broker's CPU. This one
// sends the same request with undici's `request` (the client under Node's own fetch, without the Fetch API layer),
// reads the answer whole, up to a size no token response comes near, and hands openid-client a standard Response.
// Like fetch with `redirect: 'manual'` (what openid-client asks for), it never follows a redirect; like fetch, it
// rejects with the signal's reason when aborted (openid-client reports a timeout from it) and with
// `TypeError('fetch failed')` when the provider cannot be reached.

/** Larger answers are refused: a token, discovery or JWKS document is a few kilobytes. */
export const MAX_RESPONSE_BYTES = 1024 * 1024

const NULL_BODY = new Set([101, 204, 205, 304])

export interface ProviderFetchOptions {
  maxResponseBytes?: number
}

export function createProviderFetch(options: ProviderFetchOptions = {}): typeof globalThis.fetch {
  let dispatcher: Agent | undefined
  const limit = options.maxResponseBytes ?? MAX_RESPONSE_BYTES

  return async (input, init = {}) => {
    // openid-client passes a URL string; anything else takes the standard path
    if (input instanceof Request) return globalThis.fetch(input, init)
    const signal = init.signal ?? undefined
    // undici's request does not decode bodies: ask for none encoded
    const headers: Record<string, string> = { 'accept-encoding': 'identity' }
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value
    })
    let body: string | Uint8Array | undefined
    if (init.body instanceof URLSearchParams) {
      body = init.body.toString()
      headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8'
    } else if (typeof init.body === 'string' || init.body instanceof Uint8Array) {
      body = init.body
      if (typeof body === 'string') headers['content-type'] ??= 'text/plain;charset=UTF-8'
    } else if (init.body != null) {
      return globalThis.fetch(input, init)
    }
    try {
      const { Agent, request } = await loadUndici()
      dispatcher ??= new Agent({ keepAliveTimeout: 10_000 })
      const answer = await request(input, {
        method: (init.method ?? 'GET') as 'GET',
        headers,
        body,
        signal,
        dispatcher,
      })
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of answer.body) {
        size += (chunk as Buffer).length
        if (size > limit) {
          answer.body.destroy()
          throw new TypeError(`response larger than ${limit} bytes`)
        }
        chunks.push(chunk as Buffer)
      }
      const responseHeaders = new Headers()
      for (const [name, value] of Object.entries(answer.headers)) {
        if (Array.isArray(value)) for (const item of value) responseHeaders.append(name, item)
        else if (value !== undefined) responseHeaders.set(name, value)
      }
      return new Response(NULL_BODY.has(answer.statusCode) ? null : Buffer.concat(chunks, size), {
        status: answer.statusCode,
        headers: responseHeaders,
      })
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      throw new TypeError('fetch failed', { cause: err })
    }
  }
}
