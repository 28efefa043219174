/**
 * The headers every response carries (request id, CORS on the public endpoints) arrive the
 * same whether the app answers over Node's HTTP server, where they are set on Node's
 * response and merged when it is written, or in process (app.request, `invoke`), where they
 * are added to the Response; each exactly once, beside the handler's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../../shared/db/embedded.ts'
import { type RunningServer, startServer } from '../../../shared/http/server.ts'
import { overNode as overNodeAt, type RawAnswer } from '../../support/http.ts'
import { basic, createTenant, form, type Tenant } from '../../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

type Answer = RawAnswer

let t: TestRuntime
let tenant: Tenant
let server: RunningServer
let port: number

beforeAll(async () => {
  port = await freePort()
  t = await createTestRuntime({ env: { PORT: String(port), HOST: '127.0.0.1' } })
  tenant = await createTenant(t, 'acme')
  server = await startServer(t.runtime, t.app)
})
afterAll(() => server?.shutdown())

/** Over Node's HTTP server, with the raw header lines (so a duplicate would show). */
const overNode = (method: string, path: string, headers: Record<string, string>, body?: string) =>
  overNodeAt(port, method, path, { host: tenant.host, ...headers }, body)

async function inProcess(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await t.app.request(path, {
    method,
    headers: { host: tenant.host, ...headers },
    ...(body === undefined ? {} : { body }),
  })
  const all = new Map<string, string[]>()
  for (const [name, value] of res.headers) all.set(name, [value])
  return { status: res.status, headers: all, body: await res.text() } satisfies Answer
}

// What the transport adds by itself, not the app.
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])
const appHeaders = (a: Answer) =>
  Object.fromEntries(
    [...a.headers].filter(([name]) => !TRANSPORT.has(name)).sort(([x], [y]) => (x < y ? -1 : 1)),
  )

describe('response headers', () => {
  const ORIGIN = 'https://spa.example.com'
  const token = () => {
    const { admin_client: c } = tenant.bootstrap
    return {
      headers: {
        origin: ORIGIN,
        'x-request-id': 'req-token-1',
        authorization: basic(c.client_id, c.client_secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form({ grant_type: 'client_credentials' }),
    }
  }

  it('a token response carries the request id, CORS and no-store, each once, over Node and in process', async () => {
    const { headers, body } = token()
    const node = await overNode('POST', '/oauth/token', headers, body)
    const local = await inProcess('POST', '/oauth/token', headers, body)
    for (const answer of [node, local]) {
      expect(answer.status).toBe(200)
      expect(appHeaders(answer)).toEqual({
        'access-control-allow-origin': ['*'],
        'access-control-expose-headers': ['www-authenticate, retry-after, x-request-id'],
        'cache-control': ['no-store'],
        'content-type': ['application/json'],
        pragma: ['no-cache'],
        'x-request-id': ['req-token-1'],
      })
      expect(JSON.parse(answer.body).token_type).toBe('Bearer')
    }
    expect(node.headers.get('content-length')).toEqual([String(Buffer.byteLength(node.body))])
  })

  it('an OAuth error keeps its WWW-Authenticate beside the shared headers', async () => {
    const { headers, body } = token()
    const wrong = { ...headers, authorization: basic(tenant.bootstrap.admin_client.client_id, 'wrong') }
    const node = await overNode('POST', '/oauth/token', wrong, body)
    const local = await inProcess('POST', '/oauth/token', wrong, body)
    expect(appHeaders(node)).toEqual(appHeaders(local))
    expect(node.status).toBe(401)
    expect(node.headers.get('www-authenticate')?.[0]).toMatch(/^Basic /)
    expect(node.headers.get('x-request-id')).toEqual(['req-token-1'])
    expect(JSON.parse(node.body).error).toBe('invalid_client')
  })

  it('an unknown path and the metadata carry the request id; only the public endpoints carry CORS', async () => {
    const missing = await overNode('GET', '/no/such/path', { origin: ORIGIN })
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toEqual(['application/problem+json'])
    expect(missing.headers.get('x-request-id')?.[0]).toMatch(/^[0-9a-f-]{36}$/)
    expect(missing.headers.has('access-control-allow-origin')).toBe(false)

    for (const path of ['/.well-known/jwks.json', '/.well-known/openid-configuration']) {
      const node = await overNode('GET', path, { origin: ORIGIN, 'x-request-id': 'req-meta' })
      const local = await inProcess('GET', path, { origin: ORIGIN, 'x-request-id': 'req-meta' })
      expect(appHeaders(node)).toEqual(appHeaders(local))
      expect(node.status).toBe(200)
      expect(node.headers.get('cache-control')).toEqual(['public, max-age=300'])
      expect(node.headers.get('access-control-allow-origin')).toEqual(['*'])
      expect(node.headers.get('x-request-id')).toEqual(['req-meta'])
      expect(node.body).toBe(local.body)
    }
  })

  it('responses not made by reply() (an HTML page, a HEAD) carry the request id once, over Node too', async () => {
    const page = await overNode('GET', '/auth/login', { 'x-request-id': 'req-page' })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')?.[0]).toMatch(/^text\/html/)
    expect(page.headers.get('x-request-id')).toEqual(['req-page'])
    expect(page.headers.has('access-control-allow-origin')).toBe(false)

    const head = await overNode('HEAD', '/.well-known/jwks.json', { 'x-request-id': 'req-head' })
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers.get('x-request-id')).toEqual(['req-head'])
    expect(head.headers.get('access-control-allow-origin')).toEqual(['*'])
    expect(head.headers.get('cache-control')).toEqual(['public, max-age=300'])
  })

  it('a preflight is answered with the CORS headers and the request id only', async () => {
    const ask = { origin: ORIGIN, 'access-control-request-method': 'POST', 'x-request-id': 'req-pre' }
    const node = await overNode('OPTIONS', '/oauth/token', ask)
    expect(node.status).toBe(204)
    expect(node.headers.get('access-control-allow-methods')).toEqual(['GET, POST'])
    expect(node.headers.get('access-control-allow-origin')).toEqual(['*'])
    expect(node.headers.get('x-request-id')).toEqual(['req-pre'])
    expect(node.body).toBe('')
  })
})
