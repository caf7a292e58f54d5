// Where a webhook may go (CONTRACT.md, "Webhook and provider URL rules"): https, to global addresses only, checked when
// the URL is registered and again at every delivery, on the address the connection is then made to: the sockets
// resolve through `lookup` below, which refuses an internal answer, so a name that changes its address after the
// check (DNS rebinding) is refused at connection time.
import { promises as dns, type LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import type { Agent } from 'undici'
import { loadUndici, type Undici } from '../providers/undici.js'
import { invalidRequest } from '../errors.js'
import { addressClass, addressLiteral, inAllowedRange, type AllowedHosts } from '../urls/addresses.js'

/** Every address a host name resolves to; tests map names to addresses of their choosing. */
export type ResolveHost = (hostname: string) => Promise<LookupAddress[]>

export interface TargetPolicy {
  /** NODE_ENV=production: https only, loopback included. */
  production: boolean
  /** WEBHOOK_ALLOWED_HOSTS: names and ranges the address rule does not apply to. */
  allowed: AllowedHosts
  resolve?: ResolveHost
  /** How long registration waits for DNS before accepting a name it cannot resolve (delivery checks it again). */
  resolveTimeoutMs?: number
}

/** A delivery refused by the address rule; its message names the rule, never the URL. */
export class TargetRefused extends Error {
  readonly code = 'WEBHOOK_TARGET_REFUSED'
}

const HTTPS_RULE = 'must be https (plain http only to a loopback address, outside production)'
const INTERNAL_RULE = 'must not reach an internal address'

const systemResolve: ResolveHost = (hostname) => dns.lookup(hostname, { all: true, verbatim: true })

export function createWebhookTargets(policy: TargetPolicy) {
  const { production, allowed } = policy
  const resolve = policy.resolve ?? systemResolve
  const resolveTimeoutMs = policy.resolveTimeoutMs ?? 3_000

  /** Why `address` may not be reached, or undefined when it may. */
  function refusal(address: string, plainHttp: boolean): string | undefined {
    if (inAllowedRange(address, allowed)) return undefined
    const kind = addressClass(address)
    if (kind === 'loopback' && !production) return undefined
    if (plainHttp) return HTTPS_RULE
    return kind === 'global' ? undefined : `${INTERNAL_RULE} (${kind})`
  }

  /** The checks that need no DNS: scheme, credentials, fragment, an address literal, an allowed name. */
  function checkForm(value: string): { url: URL; name?: string } | { refused: string } {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return { refused: 'must be an absolute URL' }
    }
    const plainHttp = url.protocol === 'http:'
    if (url.protocol !== 'https:' && (!plainHttp || production)) return { refused: HTTPS_RULE }
    if (url.username || url.password) return { refused: 'must not contain credentials' }
    if (url.hash) return { refused: 'must not contain a fragment' }
    const literal = addressLiteral(url.hostname)
    if (literal) {
      const refused = refusal(literal, plainHttp)
      return refused ? { refused } : { url }
    }
    return allowed.names.includes(url.hostname) ? { url } : { url, name: url.hostname }
  }

  function refusalOfAll(addresses: LookupAddress[], plainHttp: boolean): string | undefined {
    for (const { address } of addresses) {
      const refused = refusal(address, plainHttp)
      if (refused) return refused
    }
    return undefined
  }

  async function resolveWithin(hostname: string): Promise<LookupAddress[]> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<LookupAddress[]>((done) => {
      timer = setTimeout(() => done([]), resolveTimeoutMs)
    })
    try {
      return await Promise.race([resolve(hostname).catch(() => []), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** A socket's resolver that hands the socket only addresses the rule allows. */
  const checkedLookup =
    (plainHttp: boolean): LookupFunction =>
    (hostname, options, callback) => {
      resolve(hostname).then(
        (found) => {
          const family = options.family === 4 || options.family === 6 ? options.family : undefined
          const addresses = family ? found.filter((entry) => entry.family === family) : found
          const refused = allowed.names.includes(hostname) ? undefined : refusalOfAll(addresses, plainHttp)
          const first = addresses[0]
          if (refused) callback(new TargetRefused(`the receiver's address ${refused}`), '', 4)
          else if (!first) callback(Object.assign(new Error(`no address for the host`), { code: 'ENOTFOUND' }), '', 4)
          else if (options.all) (callback as (err: null, all: LookupAddress[]) => void)(null, addresses)
          else callback(null, first.address, first.family)
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 4),
      )
    }
  // made by the first delivery
  let agents: Promise<{ https: Agent; http: Agent; fetch: Undici['fetch'] }> | undefined
  const agentsFor = () =>
    (agents ??= loadUndici().then(({ Agent, fetch }) => ({
      https: new Agent({ keepAliveTimeout: 10_000, connect: { lookup: checkedLookup(false) } }),
      http: new Agent({ keepAliveTimeout: 10_000, connect: { lookup: checkedLookup(true) } }),
      fetch,
    })))

  return {
    /** At registration: the URL's form, and every address its host resolves to now. Returns the normalized URL. */
    async checkRegistration(field: string, value: string): Promise<string> {
      const form = checkForm(value)
      if ('refused' in form) throw invalidRequest(`${field} ${form.refused}`)
      const { url, name } = form
      if (name === undefined) return url.href
      const addresses = await resolveWithin(name)
      // a name that does not resolve yet is accepted over https: every delivery checks it again
      const refused =
        addresses.length === 0 && url.protocol === 'http:'
          ? HTTPS_RULE
          : refusalOfAll(addresses, url.protocol === 'http:')
      if (refused) throw invalidRequest(`${field} ${refused}`)
      return url.href
    },

    /** Sends a request the way deliveries go: refused before it leaves when the URL or its address breaks the rule. */
    fetch: (async (input: string | URL, init?: RequestInit) => {
      const form = checkForm(String(input))
      if ('refused' in form)
        throw new TypeError('fetch failed', { cause: new TargetRefused(`the URL ${form.refused}`) })
      const undici = await agentsFor()
      const dispatcher = form.url.protocol === 'http:' ? undici.http : undici.https
      return undici.fetch(form.url, { ...(init as object), dispatcher })
    }) as unknown as typeof globalThis.fetch,

    async close(): Promise<void> {
      if (!agents) return
      const { https, http } = await agents
      await Promise.all([https.close(), http.close()])
    },
  }
}

export type WebhookTargets = ReturnType<typeof createWebhookTargets>
