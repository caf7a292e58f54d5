// Which addresses the broker may send a webhook to. The address classes are ipaddr.js's (the IANA special-purpose
// registries), not ranges written here: anything but a global unicast address is internal.
import ipaddr from 'ipaddr.js'

/** WEBHOOK_ALLOWED_HOSTS, parsed: host names, and addresses or CIDRs. */
export interface AllowedHosts {
  names: string[]
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][]
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/** Parses one WEBHOOK_ALLOWED_HOSTS entry; undefined when it is neither a host name, an address nor a CIDR. */
function allowedEntry(entry: string): { name: string } | { range: [ipaddr.IPv4 | ipaddr.IPv6, number] } | undefined {
  const bare = entry.replace(/^\[(.*)\]$/, '$1')
  if (ipaddr.isValidCIDR(bare)) return { range: ipaddr.parseCIDR(bare) }
  if (ipaddr.isValid(bare) && (ipaddr.IPv4.isValidFourPartDecimal(bare) || ipaddr.IPv6.isValid(bare))) {
    const address = ipaddr.parse(bare)
    return { range: [address, address.kind() === 'ipv4' ? 32 : 128] }
  }
  const name = entry.toLowerCase().replace(/\.$/, '')
  return HOST_NAME.test(name) && !/^[0-9.]+$/.test(name) ? { name } : undefined
}

/** Parses a comma-separated list; throws a TypeError naming the first entry that is not understood. */
export function parseAllowedHosts(raw: string): AllowedHosts {
  const allowed: AllowedHosts = { names: [], ranges: [] }
  for (const entry of raw.split(',').map((part) => part.trim())) {
    if (entry === '') continue
    const parsed = allowedEntry(entry)
    if (!parsed) throw new TypeError(`"${entry}" is neither a host name, an address nor a CIDR`)
    if ('name' in parsed) allowed.names.push(parsed.name)
    else allowed.ranges.push(parsed.range)
  }
  return allowed
}

const CLASS_NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'CGNAT',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  ipv4Mapped: 'IPv4-mapped',
}

/** The address class in words ("private", "link-local", ...), or "global" for a global unicast address. */
export function addressClass(address: string): string {
  const range = ipaddr.parse(address).range()
  return range === 'unicast' ? 'global' : (CLASS_NAMES[range] ?? 'reserved')
}

/** An address literal as it stands in a URL's host (`127.0.0.1`, `[::1]`); undefined for a name. */
export function addressLiteral(hostname: string): string | undefined {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1')
  // the WHATWG URL parser has already turned 127.1, 0x7f.1 and 2130706433 into dotted quads
  return ipaddr.IPv4.isValidFourPartDecimal(bare) || ipaddr.IPv6.isValid(bare) ? bare : undefined
}

export function inAllowedRange(address: string, allowed: AllowedHosts): boolean {
  const parsed = ipaddr.parse(address)
  return allowed.ranges.some(([network, bits]) => parsed.kind() === network.kind() && parsed.match(network, bits))
}
