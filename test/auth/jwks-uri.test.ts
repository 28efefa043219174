/**
 * A client's jwks_uri (RFC 7523 client assertions). A dynamically registered client's is
 * fetched from public addresses only: whoever registered it (anyone, under open
 * registration) must not make the server connect to a loopback, private or link-local
 * address, by a literal address or by a name resolving to one. Every key set is read up to
 * a bound, and redirects are not followed. (Nothing public is reachable from the tests, so
 * the public path is the administrator's client's, over loopback, in token.test.ts.)
 */
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { isPublicAddress, KEY_SET_MAX_BYTES, keySetFetch } from '../../shared/oauth/key-fetch.ts'
import { jsonOf } from '../support/http.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let keys: Awaited<ReturnType<typeof generateKeyPair>>
let published: { keys: Record<string, unknown>[] }
const servers: (Server | TcpServer)[] = []

beforeAll(async () => {
  t = await createTestRuntime({ env: { TRUST_PROXY_HOPS: '1' } })
  tenant = await createTenant(t, 'acme')
  keys = await generateKeyPair('ES256')
  published = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] }
  const res = await tenant.admin('PATCH', '/api/v1/organization', {
    settings: { registration_policy: 'open' },
  })
  expect(res.status).toBe(200)
})
afterAll(() => {
  for (const s of servers) s.close()
})

const assertion = (clientId: string) =>
  new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(`${tenant.issuer}/oauth/token`)
    .setIssuedAt()
    .setExpirationTime('1m')
    .sign(keys.privateKey)

/**
 * A token request authenticated by an assertion: 401 invalid_client when the keys could not
 * be had, 400 invalid_grant (the code is made up) when they could.
 */
async function exchange(clientId: string, grantType = 'authorization_code') {
  return tenant.post('/oauth/token', {
    grant_type: grantType,
    ...(grantType === 'authorization_code'
      ? { code: 'made-up', redirect_uri: 'https://rp.example.com/cb', code_verifier: 'x'.repeat(43) }
      : {}),
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(clientId),
  })
}

let ips = 0
async function registerDynamically(jwksUri: string): Promise<string> {
  const res = await t.app.request('/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.9.0.${++ips}` },
    body: JSON.stringify({
      redirect_uris: ['https://rp.example.com/cb'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: jwksUri,
    }),
  })
  expect(res.status).toBe(201)
  return (await jsonOf(res)).client_id
}

/** A TCP listener on loopback that counts the connections it is offered. */
async function listener(): Promise<{ port: number; connections: () => number }> {
  const port = await freePort()
  let connections = 0
  const server = createTcpServer((socket) => {
    connections++
    socket.destroy()
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
  return { port, connections: () => connections }
}

describe('a public address', () => {
  it.each([
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::808:808', true],
    ['127.0.0.1', false],
    ['127.255.0.9', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['100.64.0.1', false],
    ['169.254.169.254', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['255.255.255.255', false],
    ['198.18.0.1', false],
    ['::1', false],
    ['::', false],
    ['fe80::1', false],
    ['fe80::1%eth0', false],
    ['fd00::1', false],
    ['ff02::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:169.254.169.254', false],
    ['64:ff9b::a00:1', false],
    ['2001:db8::1', false],
    ['2002:7f00:1::', false],
    ['not an address', false],
  ])('%s → %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected)
  })
})

describe("a dynamically registered client's jwks_uri", () => {
  it('is not fetched from a literal loopback address: invalid_client, and no connection', async () => {
    const target = await listener()
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]']) {
      const clientId = await registerDynamically(`https://${host}:${target.port}/jwks.json`)
      const res = await exchange(clientId)
      expect(res.status).toBe(401)
      expect((await jsonOf(res)).error).toBe('invalid_client')
    }
    expect(target.connections()).toBe(0)
  })

  it('is not fetched from a name that resolves to loopback: invalid_client, and no connection', async () => {
    const target = await listener()
    const clientId = await registerDynamically(`https://localhost:${target.port}/jwks.json`)
    const res = await exchange(clientId)
    expect(res.status).toBe(401)
    expect((await jsonOf(res)).error).toBe('invalid_client')
    expect(target.connections()).toBe(0)
  })
})

describe("an administrator's client's jwks_uri", () => {
  async function serve(handler: Parameters<typeof createHttpServer>[1]): Promise<number> {
    const port = await freePort()
    const server = createHttpServer(handler)
    servers.push(server)
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r))
    return port
  }
  const adminClient = async (jwksUri: string) =>
    (
      await tenant.createApplication({
        name: `keys at ${jwksUri}`,
        type: 'service',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: jwksUri,
      })
    ).client_id

  it('may be on loopback, which a dynamically registered client’s may not', async () => {
    const port = await serve((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify(published)),
    )
    const res = await exchange(await adminClient(`http://127.0.0.1:${port}/jwks.json`), 'client_credentials')
    expect(res.status).toBe(200)
  })

  it('is read up to a bound: a larger answer is refused', async () => {
    const padding = 'x'.repeat(KEY_SET_MAX_BYTES)
    const port = await serve((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ ...published, padding })),
    )
    const res = await exchange(await adminClient(`http://127.0.0.1:${port}/jwks.json`), 'client_credentials')
    expect(res.status).toBe(401)
    expect((await jsonOf(res)).error).toBe('invalid_client')
  })

  it('gives up on an answer that stalls, after the timeout', async () => {
    let requests = 0
    const port = await serve((_req, res) => {
      requests++
      res.setHeader('content-type', 'application/json')
      res.write('{"keys": [')
      // … and nothing more: the body never ends.
    })
    const clientId = await adminClient(`http://127.0.0.1:${port}/jwks.json`)
    const started = Date.now()
    const res = await exchange(clientId, 'client_credentials')
    expect(res.status).toBe(401)
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(requests).toBe(1)
  }, 20_000)

  it('is fetched over a connection of its own each time, never a pooled one', async () => {
    // A socket kept alive from an administrator's client's fetch would skip the public-address
    // lookup of a dynamically registered client's fetch to the same host.
    const port = await serve((_req, res) =>
      res.setHeader('content-type', 'application/json').end('{"keys":[]}'),
    )
    let connections = 0
    const server = servers.at(-1) as Server
    server.on('connection', () => {
      connections++
    })
    const fetchKeys = keySetFetch({ publicOnly: false })
    for (let i = 0; i < 3; i++) {
      const res = await fetchKeys(`http://127.0.0.1:${port}/jwks.json`, {})
      expect(await res.json()).toEqual({ keys: [] })
    }
    expect(connections).toBe(3)
  })

  it('is not followed to where it redirects', async () => {
    let followed = 0
    const good = await serve((_req, res) => {
      followed++
      res.setHeader('content-type', 'application/json').end(JSON.stringify(published))
    })
    const port = await serve((_req, res) => {
      res.statusCode = 302
      res.setHeader('location', `http://127.0.0.1:${good}/jwks.json`)
      res.end()
    })
    const res = await exchange(await adminClient(`http://127.0.0.1:${port}/jwks.json`), 'client_credentials')
    expect(res.status).toBe(401)
    expect(followed).toBe(0)
  })
})
