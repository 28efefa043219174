/**
 * What a real client can do to the HTTP layer: a Host in capitals, a Host that is not one, a
 * connection dropped halfway through its body. Over real sockets, since these never reach
 * the app in process.
 */
import { connect } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createServedRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let port: number

beforeAll(async () => {
  t = await createServedRuntime()
  tenant = await createTenant(t, 'acme')
  port = Number(new URL(t.config.publicUrl).port)
})

/** One raw HTTP/1.1 exchange: what is written, and what came back before the server closed. */
function raw(request: string, options: { destroyAfterWrite?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.on('data', (d) => {
      answer += d.toString()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(answer))
    socket.write(request, () => {
      if (options.destroyAfterWrite) setTimeout(() => socket.destroy(), 50)
    })
  })
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1])
const headerOf = (answer: string, name: string) =>
  new RegExp(`^${name}: (.*)$`, 'im').exec(answer.split('\r\n\r\n')[0] ?? '')?.[1]?.trim()

describe('the Host header', () => {
  it.each([
    ['GET', '/health/readiness'],
    ['GET', '/auth/login'],
    ['GET', '/api/v1/users'],
    ['GET', '/oauth/authorize?client_id=nobody'],
    ['GET', '/.well-known/openid-configuration'],
    ['POST', '/oauth/token'],
  ])(
    'is case-insensitive (RFC 9110 §4.2.3): %s %s answers as with a lower-case host',
    async (method, path) => {
      const ask = (host: string) =>
        raw(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)
      const lower = await ask(`127.0.0.1:${port}`)
      const upper = await ask(`LOCALHOST:${port}`)
      const mixed = await ask(`LocalHost:${port}`)
      expect(statusOf(lower)).toBeGreaterThanOrEqual(200)
      // localhost and 127.0.0.1 are both unclaimed: the default organization answers both.
      expect(statusOf(upper)).toBe(statusOf(lower))
      expect(statusOf(mixed)).toBe(statusOf(lower))
      expect(headerOf(upper, 'x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(headerOf(upper, 'content-type')).toBe(headerOf(lower, 'content-type'))
    },
  )

  it.each(['exa mple.test', 'a/b', 'host:99999', '[::1', 'bücher.test'])(
    'that is not a host name (%j) gets a 400 problem with a request id',
    async (host) => {
      const answer = await raw(`GET /health/readiness HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
      expect(statusOf(answer)).toBe(400)
      expect(headerOf(answer, 'content-type')).toBe('application/problem+json')
      expect(headerOf(answer, 'x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
      expect(answer).toContain('"code":"invalid_host"')
    },
  )
})

describe('a request Node cannot parse', () => {
  it.each([
    [
      'a body with no framing after an OPTIONS',
      'OPTIONS /oauth/token HTTP/1.1\r\nHost: h\r\n\r\n{garbage',
      400,
    ],
    ['a header line without a colon', 'GET /health/liveness HTTP/1.1\r\nHost: h\r\nnonsense\r\n\r\n', 400],
    [
      'headers larger than Node admits',
      `GET /health/liveness HTTP/1.1\r\nHost: h\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`,
      431,
    ],
  ])('gets a problem with a request id for %s, not a bare reply', async (_what, request, status) => {
    const answer = await raw(request)
    const last = answer.slice(answer.lastIndexOf('HTTP/1.1 '))
    expect(statusOf(last)).toBe(status)
    expect(headerOf(last, 'content-type')).toBe('application/problem+json')
    expect(headerOf(last, 'x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('a client that disconnects mid-upload', () => {
  it('is counted as 499, not a server error, and logged below error', async () => {
    const metric = async (status: string) => {
      const text = await (await fetch(`${t.config.publicUrl}/metrics`)).text()
      let n = 0
      for (const m of text.matchAll(/^zenoauth_http_requests_total\{([^}]*)\} (\d+)$/gm))
        if (m[1]!.includes(`status="${status}"`)) n += Number(m[2])
      return n
    }
    const before = { aborted: await metric('499'), failed: await metric('500') }
    const { admin_client: c } = tenant.bootstrap
    const basic = `Basic ${Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64')}`
    // The admin API authenticates before it reads a body: the caller must be one.
    const bearer = `Bearer ${await tenant.adminToken()}`
    for (const [path, auth] of [
      ['/oauth/token', basic],
      ['/api/v1/users', bearer],
    ] as const) {
      const type = path === '/oauth/token' ? 'application/x-www-form-urlencoded' : 'application/json'
      await raw(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${auth}\r\nContent-Type: ${type}\r\nContent-Length: 5000\r\n\r\ngrant_type=cli`,
        { destroyAfterWrite: true },
      )
    }
    // The server notices the closed socket as its read fails; bounded wait for both.
    for (let i = 0; i < 40 && (await metric('499')) < before.aborted + 2; i++)
      await new Promise((r) => setTimeout(r, 25))
    expect(await metric('499')).toBe(before.aborted + 2)
    expect(await metric('500')).toBe(before.failed)
    expect(t.logs.records.filter((r) => (r.level as number | string) === 'error' || r.level === 50)).toEqual(
      [],
    )
  })
})
