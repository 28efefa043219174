/**
 * The client's address behind proxies. Two ways to trust X-Forwarded-For:
 *
 * - a fixed number of hops (`TRUST_PROXY_HOPS`): the Nth address from the right. Right when
 *   every request passes the same proxies.
 * - trusted proxy networks (`TRUSTED_PROXY_CIDRS`): walk from the socket address leftwards
 *   and take the first address outside them. Right when the chain varies, as on Knative,
 *   where the activator joins the path only while a revision scales from zero.
 *
 * Addresses left of the first untrusted one are whatever the client sent, and never used.
 */
import { BlockList, isIP } from 'node:net'

export type ProxyTrust =
  | { readonly kind: 'hops'; readonly hops: number }
  | { readonly kind: 'networks'; readonly networks: BlockList }

/** Parses a comma list of CIDRs (or bare addresses); throws a message naming the bad entry. */
export function parseNetworks(list: string): BlockList {
  const networks = new BlockList()
  for (const entry of list.split(',').map((s) => s.trim())) {
    if (!entry) continue
    const [address = '', prefixText] = entry.split('/')
    const family = isIP(address)
    const max = family === 6 ? 128 : 32
    const prefix = prefixText === undefined ? max : Number(prefixText)
    if (!family || !/^\d*$/.test(prefixText ?? '') || !Number.isInteger(prefix) || prefix < 0 || prefix > max)
      throw new Error(`'${entry}' is not an IP network in CIDR form (e.g. 10.0.0.0/8 or fd00::/8)`)
    networks.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4')
  }
  return networks
}

function isTrusted(networks: BlockList, address: string): boolean {
  // IPv4-mapped IPv6 (::ffff:10.0.0.1), as dual-stack sockets report IPv4 peers.
  const plain = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
  const family = isIP(plain)
  return family !== 0 && networks.check(plain, family === 6 ? 'ipv6' : 'ipv4')
}

// Never a string that is not an address: it would end up in rate-limit keys and audit rows.
const valid = (address: string | undefined) => (address !== undefined && isIP(address) ? address : undefined)

export function clientAddress(
  forwardedFor: string | undefined,
  socket: string | undefined,
  trust: ProxyTrust,
): string | undefined {
  if (trust.kind === 'hops' && trust.hops === 0) return socket
  const forwarded = (forwardedFor ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (trust.kind === 'hops') {
    const address = forwarded[forwarded.length - trust.hops]
    return address === undefined ? socket : valid(address)
  }
  // An in-process request (invoke) has no socket: its chain starts at the header.
  const chain = socket === undefined ? forwarded : [...forwarded, socket]
  for (let i = chain.length - 1; i >= 0; i--) {
    const address = chain[i]!
    if (!isTrusted(trust.networks, address)) return valid(address)
  }
  return valid(chain[0])
}
