import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../../shared/config.ts'
import { clientAddress, parseNetworks } from '../../../shared/http/client-ip.ts'

const networks = (list: string) => ({ kind: 'networks', networks: parseNetworks(list) }) as const
const hops = (n: number) => ({ kind: 'hops', hops: n }) as const

describe('clientAddress with a fixed number of hops', () => {
  it('trusts only the socket at 0 and the Nth address from the right otherwise', () => {
    expect(clientAddress('198.51.100.7', '10.0.0.1', hops(0))).toBe('10.0.0.1')
    expect(clientAddress('203.0.113.9, 198.51.100.7', '10.0.0.1', hops(1))).toBe('198.51.100.7')
    expect(clientAddress('203.0.113.9, 198.51.100.7', '10.0.0.1', hops(2))).toBe('203.0.113.9')
    expect(clientAddress(undefined, '10.0.0.1', hops(1))).toBe('10.0.0.1')
  })

  it('never returns something that is not an address', () => {
    expect(clientAddress("'; DROP TABLE users", '10.0.0.1', hops(1))).toBeUndefined()
  })
})

describe('clientAddress with trusted proxy networks', () => {
  const cluster = networks('10.0.0.0/8, 127.0.0.1/32, fd00::/8')

  it('takes the first untrusted address from the right, however many proxies the request passed', () => {
    // Envoy → queue-proxy → the process.
    expect(clientAddress('198.51.100.7, 10.1.0.5', '127.0.0.1', cluster)).toBe('198.51.100.7')
    // Envoy → activator → queue-proxy → the process: one more hop, the same client.
    expect(clientAddress('198.51.100.7, 10.1.0.5, 10.2.0.9', '127.0.0.1', cluster)).toBe('198.51.100.7')
    expect(clientAddress('198.51.100.7, 10.1.0.5', '::ffff:127.0.0.1', cluster)).toBe('198.51.100.7')
  })

  it('ignores what the client wrote left of the address its first proxy saw', () => {
    expect(clientAddress('10.9.9.9, 1.2.3.4, 198.51.100.7, 10.1.0.5', '127.0.0.1', cluster)).toBe(
      '198.51.100.7',
    )
  })

  it('answers the socket address when it is not a trusted proxy, whatever the header says', () => {
    expect(clientAddress('10.9.9.9', '198.51.100.7', cluster)).toBe('198.51.100.7')
  })

  it('answers the leftmost address when every hop is trusted, and IPv6 works', () => {
    expect(clientAddress('10.3.3.3, 10.1.0.5', '127.0.0.1', cluster)).toBe('10.3.3.3')
    expect(clientAddress('2001:db8::1, fd00::5', '127.0.0.1', cluster)).toBe('2001:db8::1')
  })

  it('refuses a network that is not one, naming it', () => {
    expect(() => parseNetworks('10.0.0.0/33')).toThrow("'10.0.0.0/33' is not an IP network")
    expect(() => parseNetworks('ten.0.0.0/8')).toThrow("'ten.0.0.0/8' is not an IP network")
    expect(() => parseNetworks('10.0.0.0/x')).toThrow("'10.0.0.0/x' is not an IP network")
  })
})

describe('TRUSTED_PROXY_CIDRS', () => {
  const base = { NODE_ENV: 'development', DATABASE_URL: 'postgres://u@localhost/db' }

  it('configures trusted networks', () => {
    const config = loadConfig({ ...base, TRUSTED_PROXY_CIDRS: '10.0.0.0/8,fd00::/8' })
    expect(config.proxyTrust.kind).toBe('networks')
    expect(clientAddress('198.51.100.7', '10.0.0.1', config.proxyTrust)).toBe('198.51.100.7')
  })

  it('names a bad network, and refuses both ways of trusting at once', () => {
    expect(() => loadConfig({ ...base, TRUSTED_PROXY_CIDRS: '10.0.0.0/99' })).toThrow(
      "TRUSTED_PROXY_CIDRS: '10.0.0.0/99' is not an IP network",
    )
    expect(() => loadConfig({ ...base, TRUSTED_PROXY_CIDRS: '10.0.0.0/8', TRUST_PROXY_HOPS: '1' })).toThrow(
      'TRUSTED_PROXY_CIDRS: set it or TRUST_PROXY_HOPS, not both',
    )
  })
})
