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

/** A provider's answer read whole, before it is made a Response. */
export interface ProviderAnswer {
  status: number
  /** Names in lower case; a repeated header as a list. */
  headers: Record<string, string | string[] | undefined>
  /** null: a status that has no body (204, 304...). */
  body: Buffer | null
}

/** The provider fetch, and the same request answered before it becomes a Response. */
export interface ProviderHttp {
  fetch: typeof globalThis.fetch
  /**
   * A wrapper that rewrites answers (the dialects) takes them from here and makes one Response, not two: each one,
   * with its web streams and Headers, was a share of a scheduled refresh's CPU.
   */
  answer(input: FetchInput, init?: RequestInit): Promise<ProviderAnswer>
}

type FetchInput = Parameters<typeof globalThis.fetch>[0]

/** A fetch of another kind (a test's) as ProviderHttp: its Responses read whole. */
export function providerHttpOf(fetch: typeof globalThis.fetch): ProviderHttp {
  return { fetch, answer: async (input, init) => answerOf(await fetch(input, init)) }
}

export function createProviderFetch(options: ProviderFetchOptions = {}): typeof globalThis.fetch {
  return createProviderHttp(options).fetch
}

export function createProviderHttp(options: ProviderFetchOptions = {}): ProviderHttp {
  let dispatcher: Agent | undefined
  const limit = options.maxResponseBytes ?? MAX_RESPONSE_BYTES

  async function answer(input: FetchInput, init: RequestInit = {}): Promise<ProviderAnswer> {
    // openid-client passes a URL string; a Request takes the standard path
    if (input instanceof Request) return answerOf(await globalThis.fetch(input, init))
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
      return answerOf(await globalThis.fetch(input, init))
    }
    try {
      const { Agent, request } = await loadUndici()
      dispatcher ??= new Agent({ keepAliveTimeout: 10_000 })
      const answer = await request(input.toString(), {
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
      return {
        status: answer.statusCode,
        headers: answer.headers,
        body: NULL_BODY.has(answer.statusCode) ? null : Buffer.concat(chunks, size),
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      throw new TypeError('fetch failed', { cause: err })
    }
  }

  return {
    answer,
    async fetch(input, init = {}) {
      if (input instanceof Request) return globalThis.fetch(input, init)
      return responseOf(await answer(input, init))
    },
  }
}

/** The Response openid-client is handed: with another status and body in place of the answer's, when given. */
export function responseOf(
  { status, headers, body }: ProviderAnswer,
  replaced?: { status: number; body: string; contentType: string },
): Response {
  const pairs: [string, string][] = []
  for (const [name, value] of Object.entries(headers)) {
    if (replaced && (name === 'content-type' || name === 'content-length')) continue
    if (Array.isArray(value)) for (const item of value) pairs.push([name, item])
    else if (value !== undefined) pairs.push([name, value])
  }
  if (replaced) pairs.push(['content-type', replaced.contentType])
  return replaced
    ? new Response(replaced.body, { status: replaced.status, headers: pairs })
    : new Response(body, { status, headers: pairs })
}

/** A Response read whole, as `answer` gives it. */
export async function answerOf(response: Response): Promise<ProviderAnswer> {
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) headers['set-cookie'] = cookies
  return {
    status: response.status,
    headers,
    body: NULL_BODY.has(response.status) ? null : Buffer.from(await response.arrayBuffer()),
  }
}
