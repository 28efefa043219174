/**
 * Public documents (discovery metadata, the JWKS; shared/http/documents.ts): strong ETags,
 * 304 for a matching If-None-Match, CORS, request ids, metrics and draining from the one
 * pipeline, over Node exactly as in process.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { defineFunction } from '../../../shared/http/define-function.ts'
import { noneMatch } from '../../../shared/http/documents.ts'
import type { RawAnswer } from '../../support/http.ts'
import { headersOf, type NodeServer, serveOverNode } from '../../support/node-server.ts'
import { createTenant, type Tenant } from '../../support/oauth.ts'
import { createDownRuntime, createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

const DOCUMENTS = [
  '/.well-known/jwks.json',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
]

let t: TestRuntime
let tenant: Tenant
let server: NodeServer

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
  server = await serveOverNode(t, tenant.host)
})

// What Node's HTTP server adds to every response, and the length only it computes.
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])
const semantic = (headers: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !TRANSPORT.has(name)))
const nodeHeaders = (a: RawAnswer) => semantic(Object.fromEntries(a.headers))

const overNode = (method: string, path: string, headers: Record<string, string> = {}) =>
  server.request(method, path, headers)
const inProcess = (method: string, path: string, headers: Record<string, string> = {}, runtime = t) =>
  runtime.app.request(path, { method, headers: { host: tenant.host, ...headers } })

describe('public documents', () => {
  it.each(DOCUMENTS)(
    '%s: over Node exactly as in process, with ETag, CORS and the request id',
    async (path) => {
      const ask = { origin: 'https://spa.example.com', 'x-request-id': 'req-doc' }
      const node = await overNode('GET', path, ask)
      const local = await inProcess('GET', path, ask)
      expect(node.status).toBe(200)
      expect(nodeHeaders(node)).toEqual(semantic(headersOf(local)))
      expect(node.body).toBe(await local.text())
      expect(node.headers.get('etag')?.[0]).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
      expect(node.headers.get('access-control-allow-origin')).toEqual(['*'])
      expect(node.headers.get('x-request-id')).toEqual(['req-doc'])
      expect(node.headers.get('content-length')).toEqual([String(Buffer.byteLength(node.body))])
    },
  )

  it.each(DOCUMENTS)(
    "%s: a matching If-None-Match gets 304 with the 200's headers (RFC 9110 §15.4.5)",
    async (path) => {
      const etag = (await overNode('GET', path)).headers.get('etag')![0]!
      const ask = { 'if-none-match': `W/"other", ${etag}`, 'x-request-id': 'req-304' }
      const node = await overNode('GET', path, ask)
      const local = await inProcess('GET', path, ask)
      expect(node.status).toBe(304)
      expect(node.body).toBe('')
      expect(nodeHeaders(node)).toEqual(semantic(headersOf(local)))
      expect(node.headers.get('etag')).toEqual([etag])
      expect(node.headers.get('content-type')).toEqual(['application/json'])
    },
  )

  it('HEAD has the headers and no body; another method is 405 with Allow; an unclaimed host is the default organization', async () => {
    const head = await overNode('HEAD', '/.well-known/jwks.json')
    expect(head.status).toBe(200)
    expect(head.body).toBe('')
    expect(head.headers.get('content-length')).toEqual([
      String(Buffer.byteLength((await overNode('GET', '/.well-known/jwks.json')).body)),
    ])

    const post = await overNode('POST', '/.well-known/jwks.json')
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toEqual(['GET, HEAD'])

    // An unclaimed host is the default organization's (tenancy.ts): its document, as in process.
    const unclaimed = await overNode('GET', '/.well-known/openid-configuration', { host: 'nobody.example' })
    const local = await t.app.request('/.well-known/openid-configuration', {
      headers: { host: 'nobody.example' },
    })
    expect(unclaimed.status).toBe(local.status)
    expect(unclaimed.body).toBe(await local.text())
  })

  it('answers an error in the dialect of the route, as in process', async () => {
    const ask = { host: 'bad_host!', origin: 'https://spa.example.com', 'x-request-id': 'req-bad' }
    const local = await t.app.request('/.well-known/openid-configuration', { headers: ask })
    expect(local.status).toBe(400)
    expect(await local.json()).toMatchObject({ error: 'invalid_request' })
    // Over Node a malformed Host is refused before routing (server.ts), in problem+json.
    const node = await overNode('GET', '/.well-known/openid-configuration', ask)
    expect(node.status).toBe(400)
    expect(node.headers.get('x-request-id')).toEqual(['req-bad'])
  })

  it('answers 503 when the database does not answer', async () => {
    const down = await createDownRuntime(t)
    const downServer = await serveOverNode(down, 'login.acme.test')
    const ask = { 'x-request-id': 'req-down' }
    const node = await downServer.request('GET', '/.well-known/jwks.json', ask)
    const local = await inProcess('GET', '/.well-known/jwks.json', { ...ask, host: 'login.acme.test' }, down)
    expect(node.status).toBe(503)
    expect(node.headers.get('retry-after')).toEqual(['1'])
    expect(nodeHeaders(node)).toEqual(semantic(headersOf(local)))
    expect(node.body).toBe(await local.text())
  })

  it('counts, logs and closes the connection while draining', async () => {
    const count = async () =>
      Number(
        /zenoauth_http_requests_total\{route="\/\.well-known\/jwks\.json",plane="auth",method="GET",status="200"\} (\d+)/.exec(
          await (await t.app.request('/metrics')).text(),
        )?.[1] ?? 0,
      )
    const was = await count()
    const answer = await overNode('GET', '/.well-known/jwks.json', { 'x-request-id': 'req-logged' })
    expect(answer.status).toBe(200)
    expect(await count()).toBe(was + 1)
    expect(t.logs.records).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        requestId: 'req-logged',
        method: 'GET',
        path: '/.well-known/jwks.json',
        route: '/.well-known/jwks.json',
        status: 200,
      }),
    )

    t.runtime.draining = true
    try {
      const draining = await overNode('GET', '/.well-known/jwks.json')
      expect(draining.headers.get('connection')).toEqual(['close'])
    } finally {
      t.runtime.draining = false
    }
  })

  it('serves the new key set once keys rotate', async () => {
    const kids = async () =>
      JSON.parse((await overNode('GET', '/.well-known/jwks.json')).body).keys.map(
        (k: { kid: string }) => k.kid,
      )
    const before = await kids()
    const res = await tenant.admin('POST', '/api/v1/keys/rotate', { alg: 'EdDSA' })
    expect(res.status).toBe(200)
    const after = await kids()
    expect(after).not.toEqual(before)
    expect(after).toEqual(expect.arrayContaining(before))
  })
})

describe('defineFunction', () => {
  it('refuses a function without an answer', () => {
    const none = { plane: 'auth', method: 'GET', path: '/.well-known/none', handler: () => new Response('x') }
    expect(() => defineFunction(none as never)).toThrow(/declares an answer/)
  })
})

describe('If-None-Match', () => {
  const etag = '"abc"'
  it.each([
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['"x",W/"abc"', true],
    ['*', true],
    ['"abcd"', false],
    ['abc', false],
    ['', false],
  ])('%s matches: %s', (header, matches) => {
    expect(noneMatch(header, etag)).toBe(matches)
  })
  it('nothing matches an absent header', () => {
    expect(noneMatch(undefined, etag)).toBe(false)
  })
})
