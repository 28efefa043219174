/**
 * Public documents (discovery metadata, the JWKS) answered over Node's HTTP server before
 * Hono (shared/http/direct.ts, documents.ts): byte for byte what the function answers through
 * the app, only for the plain case, and handing everything else to the app.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { defineFunction } from '../../../shared/http/define-function.ts'
import { jsonDocument, noneMatch } from '../../../shared/http/documents.ts'
import { type DirectServer, serveDirect, withoutDate } from '../../support/direct.ts'
import { createTenant, type Tenant } from '../../support/oauth.ts'
import { createDownRuntime, createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

const DOCUMENTS = [
  '/.well-known/jwks.json',
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
]

let t: TestRuntime
let tenant: Tenant
let server: DirectServer

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
  server = await serveDirect(t, tenant.host)
})

const overNode = (method: string, path: string, headers: Record<string, string> = {}) =>
  server.request(method, path, headers)
const viaApp = (ask: Parameters<DirectServer['viaApp']>[0]) => server.viaApp(ask)

describe('public documents over Node', () => {
  it.each(DOCUMENTS)('%s: answered before the app, exactly as the app answers it', async (path) => {
    const ask = { origin: 'https://spa.example.com', 'x-request-id': 'req-doc' }
    const direct = await viaApp(() => overNode('GET', path, ask))
    // A query string is not the plain case: the app answers, through the function.
    const routed = await viaApp(() => overNode('GET', `${path}?via=app`, ask))
    expect([direct.app, routed.app]).toEqual([false, true])
    expect(direct.answer.status).toBe(200)
    expect(withoutDate(direct.answer)).toEqual(withoutDate(routed.answer))
    expect(direct.answer.body).toBe(routed.answer.body)
    expect(direct.answer.headers.get('etag')?.[0]).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
    expect(direct.answer.headers.get('access-control-allow-origin')).toEqual(['*'])
    expect(direct.answer.headers.get('x-request-id')).toEqual(['req-doc'])
    expect(direct.answer.headers.get('content-length')).toEqual([
      String(Buffer.byteLength(direct.answer.body)),
    ])
  })

  it.each(DOCUMENTS)('%s: a matching If-None-Match gets the same 304 either way', async (path) => {
    const etag = (await overNode('GET', path)).headers.get('etag')![0]!
    const ask = { 'if-none-match': `W/"other", ${etag}`, 'x-request-id': 'req-304' }
    const direct = await viaApp(() => overNode('GET', path, ask))
    const routed = await viaApp(() => overNode('GET', `${path}?via=app`, ask))
    expect([direct.app, routed.app]).toEqual([false, true])
    expect(direct.answer.status).toBe(304)
    expect(direct.answer.body).toBe('')
    expect(withoutDate(direct.answer)).toEqual(withoutDate(routed.answer))
    expect(direct.answer.headers.get('etag')).toEqual([etag])
    expect(direct.answer.headers.get('content-type')).toEqual(['application/json'])
  })

  it('hands on other methods, which the app answers; an unclaimed host is the default organization', async () => {
    const head = await viaApp(() => overNode('HEAD', '/.well-known/jwks.json'))
    expect(head.app).toBe(true)
    expect(head.answer.status).toBe(200)

    const post = await viaApp(() => overNode('POST', '/.well-known/jwks.json'))
    expect(post.app).toBe(true)
    expect(post.answer.status).toBe(405)

    // An unclaimed host is the default organization's (tenancy.ts): its document, as in process.
    const unclaimed = await overNode('GET', '/.well-known/openid-configuration', { host: 'nobody.example' })
    const inProcess = await t.app.request('/.well-known/openid-configuration', {
      headers: { host: 'nobody.example' },
    })
    expect(unclaimed.status).toBe(inProcess.status)
    expect(unclaimed.body).toBe(await inProcess.text())
  })

  it('answers an error as the app does, in the dialect of the route, without handing it on', async () => {
    const ask = { host: 'bad_host!', origin: 'https://spa.example.com', 'x-request-id': 'req-bad' }
    const direct = await viaApp(() => overNode('GET', '/.well-known/openid-configuration', ask))
    const routed = await viaApp(() => overNode('GET', '/.well-known/openid-configuration?via=app', ask))
    expect([direct.app, routed.app]).toEqual([false, true])
    expect(direct.answer.status).toBe(400)
    expect(withoutDate(direct.answer)).toEqual(withoutDate(routed.answer))
    expect(direct.answer.body).toBe(routed.answer.body)
    expect(JSON.parse(direct.answer.body)).toMatchObject({ error: 'invalid_request' })
  })

  it('answers 503 when the database does not answer, as the app does', async () => {
    const down = await createDownRuntime(t)
    const downServer = await serveDirect(down, 'login.acme.test')
    const ask = { 'x-request-id': 'req-down' }
    const direct = await downServer.request('GET', '/.well-known/jwks.json', ask)
    const routed = await downServer.request('GET', '/.well-known/jwks.json?via=app', ask)
    expect(downServer.handedOn).toEqual(['GET /.well-known/jwks.json?via=app'])
    expect(direct.status).toBe(503)
    expect(direct.headers.get('retry-after')).toEqual(['1'])
    expect(withoutDate(direct)).toEqual(withoutDate(routed))
    expect(direct.body).toBe(routed.body)
  })

  it('counts, logs and closes the connection while draining as the app does', async () => {
    const before = await t.app.request('/metrics')
    const count = (text: string) =>
      Number(
        /zenoauth_http_requests_total\{route="\/\.well-known\/jwks\.json",plane="auth",method="GET",status="200"\} (\d+)/.exec(
          text,
        )?.[1] ?? 0,
      )
    const was = count(await before.text())
    const answer = await viaApp(() =>
      overNode('GET', '/.well-known/jwks.json', { 'x-request-id': 'req-logged' }),
    )
    expect(answer.app).toBe(false)
    expect(count(await (await t.app.request('/metrics')).text())).toBe(was + 1)
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
      const draining = await viaApp(() => overNode('GET', '/.well-known/jwks.json'))
      expect(draining.app).toBe(false)
      expect(draining.answer.headers.get('connection')).toEqual(['close'])
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
  it('refuses a function with both a handler and a document', () => {
    const both = {
      plane: 'auth',
      method: 'GET',
      path: '/.well-known/both',
      handler: () => new Response('handler'),
      document: () => Promise.resolve(jsonDocument('{}', 60)),
    }
    expect(() => defineFunction(both as never)).toThrow(/one of a handler, a document or an answer/)
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
