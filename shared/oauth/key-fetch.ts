/**
 * Fetching a client's jwks_uri (RFC 7523 client assertions). An administrator's client may
 * name any host, an internal one included. A dynamically registered client's jwks_uri was
 * chosen by whoever registered it, and with open registration that is anyone: fetched as
 * is, it would let a stranger make the server connect wherever it can reach (the cluster's
 * services, a cloud metadata address) and learn from the answer whether something listens
 * there. So for those the request goes only to public addresses: a literal address is
 * checked before connecting, and a host name is resolved by a lookup that refuses the
 * connection when any of its addresses is not public, so the address checked is the
 * address connected to (a second resolution cannot rebind it), and each fetch opens its own
 * connection. Either way the answer is read up to KEY_SET_MAX_BYTES and redirects are not
 * followed.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { BlockList, isIP } from 'node:net'

/** An answer larger than this is refused: a key set of 20 RSA keys is ~10 KB. */
export const KEY_SET_MAX_BYTES = 256 * 1024

const NON_PUBLIC = new BlockList()
// IANA's special-purpose registries: this host, private, shared (CGNAT), loopback,
// link-local (cloud metadata), protocol assignments, documentation, benchmarking,
// multicast, reserved and broadcast.
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 3],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv4')
}
// Unspecified and IPv4-compatible, loopback, discard, Teredo and ORCHID (2001::/23), the
// documentation prefix, 6to4, unique local, link-local, site-local and multicast. IPv4-mapped
// and NAT64 addresses are judged by the IPv4 address they carry (isPublicAddress).
for (const [network, prefix] of [
  ['::', 96],
  ['::1', 128],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  NON_PUBLIC.addSubnet(network, prefix, 'ipv6')
}

// NAT64 (RFC 6052's well-known prefix) reaches the IPv4 address in the last 32 bits.
const NAT64 = new BlockList()
NAT64.addSubnet('64:ff9b::', 96, 'ipv6')

/**
 * Whether an IP address is one anyone on the Internet could reach (not special-purpose).
 * BlockList judges an IPv4-mapped address (::ffff:a.b.c.d) by the IPv4 rules itself; a NAT64
 * one is judged as the IPv4-mapped address of the same last 32 bits.
 */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return !NON_PUBLIC.check(address, 'ipv4')
  if (family !== 6) return false
  const bare = address.replace(/%.*$/, '')
  if (NAT64.check(bare, 'ipv6')) {
    // The URL parser's canonical form ends with those 32 bits as two hex groups ('' for 0).
    const low = new URL(`http://[${bare}]`).hostname.slice(1, -1).split(':').slice(-2)
    return isPublicAddress(`::ffff:${low.map((g) => g || '0').join(':')}`)
  }
  return !NON_PUBLIC.check(bare, 'ipv6')
}

function notPublic(host: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${host} is not a public address`)
  err.code = 'ENOTPUBLIC'
  return err
}

/** net.connect's lookup, refusing a name with any address that is not public. */
function publicLookup(
  hostname: string,
  options: LookupAllOptions | { all?: false; family?: number },
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, [])
    if (addresses.length === 0 || addresses.some((a) => !isPublicAddress(a.address)))
      return callback(notPublic(hostname), [])
    if (options.all) return callback(null, addresses)
    callback(null, addresses[0]!.address, addresses[0]!.family)
  })
}

export interface KeySetFetchOptions {
  /** Connect only to public addresses (a dynamically registered client's jwks_uri). */
  readonly publicOnly: boolean
}

/**
 * A fetch for jose's createRemoteJWKSet (its customFetch): GET, no redirects, the answer
 * bounded; with publicOnly, to public addresses only.
 */
export function keySetFetch(options: KeySetFetchOptions) {
  return (url: string, init: { headers?: Headers; signal?: AbortSignal }): Promise<Response> => {
    const target = new URL(url)
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1')
    if (options.publicOnly) {
      if (target.protocol !== 'https:') return Promise.reject(new Error('jwks_uri must use https'))
      if (isIP(host) && !isPublicAddress(host)) return Promise.reject(notPublic(host))
    }
    const request = target.protocol === 'https:' ? httpsRequest : httpRequest
    const requestOptions: RequestOptions = {
      method: 'GET',
      // A connection of its own, never one kept alive from another fetch: a pooled socket to
      // the same host, opened for an administrator's client, would skip the lookup below.
      agent: false,
      headers: Object.fromEntries(init.headers ?? []),
      ...(init.signal ? { signal: init.signal } : {}),
      ...(options.publicOnly ? { lookup: publicLookup as RequestOptions['lookup'] } : {}),
    }
    return new Promise<Response>((resolve, reject) => {
      const req = request(target, requestOptions, (res: IncomingMessage) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size > KEY_SET_MAX_BYTES) {
            res.destroy()
            reject(new Error(`the key set is larger than ${KEY_SET_MAX_BYTES} bytes`))
          } else chunks.push(chunk)
        })
        res.on('error', reject)
        // Closed before its end (jose's timeout aborted it, the peer went away): not an answer.
        res.on('close', () => {
          if (!res.complete) reject(new Error('the key set answer ended early'))
        })
        res.on('end', () => {
          const headers = new Headers()
          const type = res.headers['content-type']
          if (type) headers.set('content-type', type)
          // Anything but 200 is refused by jose; a Response cannot carry a body with some.
          const status = res.statusCode === 200 ? 200 : 502
          resolve(new Response(status === 200 ? Buffer.concat(chunks) : null, { status, headers }))
        })
      })
      req.on('error', reject)
      req.end()
    })
  }
}
