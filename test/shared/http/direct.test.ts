/**
 * Functions with an answer (token, introspection, revocation) served over Node's HTTP server
 * before Hono (shared/http/direct.ts): the same answer the app gives, success or error, with
 * the same request id, CORS, metrics, access log and audit trail; and everything that is not
 * exactly the route's method and path handed on to the app.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { defineFunction } from '../../../shared/http/define-function.ts'
import { jsonAnswer } from '../../../shared/http/reply.ts'
import { type DirectServer, serveDirect, withoutDate } from '../../support/direct.ts'
import type { RawAnswer } from '../../support/http.ts'
import { type AppJson, basic, createTenant, form, type Tenant } from '../../support/oauth.ts'
import { createDownRuntime, createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

let t: TestRuntime
let tenant: Tenant
let server: DirectServer
let service: AppJson
let auth: string

beforeAll(async () => {
  // One proxy hop is trusted, so the client address comes from X-Forwarded-For as in the app.
  t = await createTestRuntime({ env: { TRUST_PROXY_HOPS: '1', BODY_LIMIT_BYTES: '2048' } })
  tenant = await createTenant(t, 'acme')
  server = await serveDirect(t, tenant.host)
  service = await tenant.createApplication({
    name: 'orders worker',
    type: 'service',
    allowed_scopes: ['orders:read', 'orders:write'],
    allowed_audiences: ['https://orders.example.com'],
  })
  auth = basic(service.client_id, service.client_secret)
})

/** The same request answered directly and, with a query string, by the app. */
async function bothWays(
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ direct: RawAnswer; routed: RawAnswer }> {
  const direct = await server.viaApp(() => server.request('POST', path, headers, body))
  const routed = await server.viaApp(() => server.request('POST', `${path}?via=app`, headers, body))
  expect([direct.app, routed.app]).toEqual([false, true])
  return { direct: direct.answer, routed: routed.answer }
}

async function issue(scope = 'orders:read'): Promise<string> {
  const res = await server.request(
    'POST',
    '/oauth/token',
    { ...FORM, authorization: auth },
    form({ grant_type: 'client_credentials', scope }),
  )
  expect(res.status).toBe(200)
  return JSON.parse(res.body).access_token
}

describe('POST /oauth/token over Node', () => {
  it('issues a token before the app, with the headers the app sends', async () => {
    const ask = { ...FORM, authorization: auth, origin: 'https://spa.example.com', 'x-request-id': 'req-cc' }
    const { direct, routed } = await bothWays('/oauth/token', ask, 'grant_type=client_credentials')
    expect([direct.status, routed.status]).toEqual([200, 200])
    expect(withoutDate(direct)).toEqual(withoutDate(routed))
    expect(direct.headers.get('cache-control')).toEqual(['no-store'])
    expect(direct.headers.get('access-control-allow-origin')).toEqual(['*'])
    expect(direct.headers.get('x-request-id')).toEqual(['req-cc'])
    expect(direct.headers.get('content-length')).toEqual([String(Buffer.byteLength(direct.body))])
    const [a, b] = [JSON.parse(direct.body), JSON.parse(routed.body)]
    expect(Object.keys(a)).toEqual(Object.keys(b))
    expect(a).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'orders:read orders:write' })
    const { payload } = await tenant.verify(a.access_token)
    expect(payload).toMatchObject({ client_id: service.client_id, aud: 'https://orders.example.com' })
  })

  it('gives a new request id when the client sends none or a malformed one', async () => {
    const ids = []
    for (const given of [undefined, 'bad id with spaces']) {
      const res = await server.request(
        'POST',
        '/oauth/token',
        { ...FORM, authorization: auth, ...(given ? { 'x-request-id': given } : {}) },
        'grant_type=client_credentials',
      )
      ids.push(res.headers.get('x-request-id')?.[0])
    }
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(ids[0]).not.toBe(ids[1])
  })

  const FAILURES: [string, Record<string, string>, string, number, string][] = [
    [
      'a wrong secret',
      { authorization: basic('x', 'y') },
      'grant_type=client_credentials',
      401,
      'invalid_client',
    ],
    ['an unsupported grant', {}, 'grant_type=password', 400, 'unsupported_grant_type'],
    ['no grant_type', {}, 'scope=orders:read', 400, 'invalid_request'],
    ['a repeated parameter', {}, 'grant_type=client_credentials&scope=a&scope=b', 400, 'invalid_request'],
    ['a scope not allowed', {}, 'grant_type=client_credentials&scope=admin', 400, 'invalid_scope'],
    ['a JSON body', { 'content-type': 'application/json' }, '{"grant_type":"x"}', 415, 'invalid_request'],
    [
      'a body over the limit',
      {},
      `grant_type=client_credentials&pad=${'x'.repeat(3000)}`,
      413,
      'invalid_request',
    ],
    ['a malformed host', { host: 'bad_host!' }, 'grant_type=client_credentials', 400, 'invalid_request'],
  ]
  it.each(FAILURES)('answers %s exactly as the app does', async (_what, headers, body, status, error) => {
    const ask = { ...FORM, authorization: auth, 'x-request-id': 'req-fail', ...headers }
    const { direct, routed } = await bothWays('/oauth/token', ask, body)
    expect(direct.status).toBe(status)
    expect(JSON.parse(direct.body).error).toBe(error)
    expect(withoutDate(direct)).toEqual(withoutDate(routed))
    expect(direct.body).toBe(routed.body)
  })

  it('sends WWW-Authenticate with invalid_client (RFC 6749 §5.2)', async () => {
    const res = await server.request(
      'POST',
      '/oauth/token',
      { ...FORM, authorization: basic(service.client_id, 'wrong') },
      'grant_type=client_credentials',
    )
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')?.[0]).toMatch(/^Basic realm=/)
  })

  it('hands on a preflight, another method and a query string to the app', async () => {
    const preflight = await server.viaApp(() =>
      server.request('OPTIONS', '/oauth/token', {
        origin: 'https://spa.example.com',
        'access-control-request-method': 'POST',
      }),
    )
    expect(preflight.app).toBe(true)
    expect(preflight.answer.status).toBe(204)
    const get = await server.viaApp(() => server.request('GET', '/oauth/token'))
    expect(get.app).toBe(true)
    expect(get.answer.status).toBe(405)
    expect(get.answer.headers.get('allow')).toEqual(['POST'])
  })

  it('counts, logs and closes the connection while draining as the app does', async () => {
    const count = async () =>
      Number(
        /zenoauth_http_requests_total\{route="\/oauth\/token",plane="auth",method="POST",status="200"\} (\d+)/.exec(
          await (await t.app.request('/metrics')).text(),
        )?.[1] ?? 0,
      )
    const was = await count()
    await server.request(
      'POST',
      '/oauth/token',
      { ...FORM, authorization: auth, 'x-request-id': 'req-logged' },
      'grant_type=client_credentials',
    )
    expect(await count()).toBe(was + 1)
    expect(t.logs.records).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        requestId: 'req-logged',
        method: 'POST',
        path: '/oauth/token',
        route: '/oauth/token',
        status: 200,
      }),
    )
    t.runtime.draining = true
    try {
      const { direct, routed } = await bothWays(
        '/oauth/token',
        { ...FORM, authorization: auth },
        'grant_type=client_credentials',
      )
      expect(direct.headers.get('connection')).toEqual(['close'])
      expect(routed.headers.get('connection')).toEqual(['close'])
    } finally {
      t.runtime.draining = false
    }
  })

  it('answers 503 when the database does not answer, as the app does', async () => {
    const down = await createDownRuntime(t)
    const downServer = await serveDirect(down, tenant.host)
    const ask = { ...FORM, authorization: auth, 'x-request-id': 'req-down' }
    const direct = await downServer.request('POST', '/oauth/token', ask, 'grant_type=client_credentials')
    const routed = await downServer.request(
      'POST',
      '/oauth/token?via=app',
      ask,
      'grant_type=client_credentials',
    )
    expect(downServer.handedOn).toEqual(['POST /oauth/token?via=app'])
    expect(direct.status).toBe(503)
    expect(withoutDate(direct)).toEqual(withoutDate(routed))
    expect(direct.body).toBe(routed.body)
  })
})

describe('POST /oauth/introspect over Node', () => {
  it('answers an active token with the same claims as the app, and no CORS headers', async () => {
    const token = await issue()
    const ask = { ...FORM, authorization: auth, 'x-request-id': 'req-intro' }
    const { direct, routed } = await bothWays('/oauth/introspect', ask, form({ token }))
    expect(direct.status).toBe(200)
    expect(direct.body).toBe(routed.body)
    expect(withoutDate(direct)).toEqual(withoutDate(routed))
    expect(JSON.parse(direct.body)).toMatchObject({ active: true, client_id: service.client_id })
    expect(direct.headers.has('access-control-allow-origin')).toBe(false)
  })

  it('answers an unknown token inactive, as the app does', async () => {
    const { direct, routed } = await bothWays(
      '/oauth/introspect',
      { ...FORM, authorization: auth },
      form({ token: 'not-a-token' }),
    )
    expect(JSON.parse(direct.body)).toEqual({ active: false })
    expect(direct.body).toBe(routed.body)
  })
})

describe('POST /oauth/revoke over Node', () => {
  it('revokes with 200 and an empty body of length 0 either way (RFC 7009 §2.2)', async () => {
    const [first, second] = [await issue(), await issue()]
    const ask = { ...FORM, authorization: auth, 'x-request-id': 'req-revoke' }
    const direct = await server.viaApp(() =>
      server.request('POST', '/oauth/revoke', ask, form({ token: first })),
    )
    const routed = await server.viaApp(() =>
      server.request('POST', '/oauth/revoke?via=app', ask, form({ token: second })),
    )
    expect([direct.app, routed.app]).toEqual([false, true])
    for (const { answer } of [direct, routed]) {
      expect(answer.status).toBe(200)
      expect(answer.body).toBe('')
      expect(answer.headers.get('content-length')).toEqual(['0'])
      expect(answer.headers.has('transfer-encoding')).toBe(false)
    }
    expect(withoutDate(direct.answer)).toEqual(withoutDate(routed.answer))
    for (const token of [first, second]) {
      const res = await server.request(
        'POST',
        '/oauth/introspect',
        { ...FORM, authorization: auth },
        form({ token }),
      )
      expect(JSON.parse(res.body)).toEqual({ active: false })
    }
  })

  it('audits with the request id, the forwarded client address and the user agent', async () => {
    const token = await issue()
    const { payload } = await tenant.verify(token)
    const res = await server.request(
      'POST',
      '/oauth/revoke',
      {
        ...FORM,
        authorization: auth,
        'x-request-id': 'req-audited',
        'x-forwarded-for': '203.0.113.9',
        'user-agent': 'direct-test/1.0',
      },
      form({ token }),
    )
    expect(res.status).toBe(200)
    const rows = await t.db.sql(
      "SELECT host(ip) AS ip, user_agent, request_id, actor_id FROM audit_events WHERE action = 'token.revoked' AND target_id = $1",
      [payload.jti],
    )
    expect(rows).toEqual([
      {
        ip: '203.0.113.9',
        user_agent: 'direct-test/1.0',
        request_id: 'req-audited',
        actor_id: service.client_id,
      },
    ])
  })
})

describe('GET and POST /oauth/userinfo over Node', () => {
  it.each(['GET', 'POST'])(
    '%s answers an invalid token exactly as the app does (RFC 6750 §3.1)',
    async (method) => {
      const ask = { authorization: 'Bearer not-a-token', 'x-request-id': 'req-userinfo', ...FORM }
      const direct = await server.viaApp(() => server.request(method, '/oauth/userinfo', ask, ''))
      const routed = await server.viaApp(() => server.request(method, '/oauth/userinfo?via=app', ask, ''))
      expect([direct.app, routed.app]).toEqual([false, true])
      expect(direct.answer.status).toBe(401)
      expect(direct.answer.headers.get('www-authenticate')?.[0]).toMatch(/^Bearer .*error="invalid_token"/)
      expect(withoutDate(direct.answer)).toEqual(withoutDate(routed.answer))
      expect(direct.answer.body).toBe(routed.answer.body)
    },
  )

  it('answers a token without the openid scope 403 insufficient_scope, as the app does', async () => {
    const ask = { authorization: `Bearer ${await issue()}`, 'x-request-id': 'req-userinfo-scope' }
    const direct = await server.viaApp(() => server.request('GET', '/oauth/userinfo', ask))
    const routed = await server.viaApp(() => server.request('GET', '/oauth/userinfo?via=app', ask))
    expect([direct.app, routed.app]).toEqual([false, true])
    expect(direct.answer.status).toBe(403)
    expect(direct.answer.headers.get('www-authenticate')?.[0]).toMatch(/error="insufficient_scope"/)
    expect(withoutDate(direct.answer)).toEqual(withoutDate(routed.answer))
  })
})

describe('POST /oauth/par over Node', () => {
  it('pushes a request: 201 with a request_uri, with the headers the app sends (RFC 9126 §2.2)', async () => {
    const rp = await tenant.createApplication({
      name: 'pushing rp',
      type: 'confidential',
      redirect_uris: ['https://rp.example.com/cb'],
      allowed_scopes: ['openid'],
    })
    const ask = { ...FORM, authorization: basic(rp.client_id, rp.client_secret), 'x-request-id': 'req-par' }
    const pushed = form({
      response_type: 'code',
      redirect_uri: 'https://rp.example.com/cb',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    })
    const { direct, routed } = await bothWays('/oauth/par', ask, pushed)
    expect([direct.status, routed.status]).toEqual([201, 201])
    expect(withoutDate(direct)).toEqual(withoutDate(routed))
    expect(direct.headers.get('access-control-allow-origin')).toEqual(['*'])
    const [a, b] = [JSON.parse(direct.body), JSON.parse(routed.body)]
    expect(a.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/)
    expect(a.request_uri).not.toBe(b.request_uri)
    expect(a.expires_in).toBe(b.expires_in)
  })
})

describe('answer functions over Node, beyond the token service', () => {
  it('answer as an unknown path does for a plane the process does not mount', async () => {
    const admin = await createTestRuntime({ db: t.db, env: { PLANES: 'admin' } })
    const adminServer = await serveDirect(admin, tenant.host)
    const ask = { ...FORM, authorization: auth, 'x-request-id': 'req-plane' }
    const token = await adminServer.request('POST', '/oauth/token', ask, 'grant_type=client_credentials')
    const unknown = await adminServer.request(
      'POST',
      '/oauth/no-such-endpoint',
      ask,
      'grant_type=client_credentials',
    )
    expect(adminServer.handedOn).toEqual(['POST /oauth/token', 'POST /oauth/no-such-endpoint'])
    expect(token.status).toBe(404)
    expect(withoutDate(token)).toEqual(withoutDate(unknown))
    expect(token.body).toBe(unknown.body)
  })

  it('answer a failure to write the answer with a 500 in the dialect, and never run the function twice', async () => {
    let runs = 0
    const broken = defineFunction({
      plane: 'auth',
      method: 'POST',
      path: '/oauth/fixture-broken-header',
      answer: () => {
        runs++
        return {
          status: 200,
          body: '{}',
          headers: { 'content-type': 'application/json', 'x-broken': 'a\nb' },
        }
      },
    })
    const fixture = await createTestRuntime({
      db: t.db,
      routes: [{ plane: 'auth', methods: ['POST'], path: broken.path, file: 'test', fn: broken }],
    })
    const fixtureServer = await serveDirect(fixture, tenant.host)
    const res = await fixtureServer.request('POST', '/oauth/fixture-broken-header', {
      'x-request-id': 'req-broken',
    })
    expect(fixtureServer.handedOn).toEqual([])
    expect(runs).toBe(1)
    expect(res.status).toBe(500)
    expect(JSON.parse(res.body)).toEqual({
      error: 'server_error',
      error_description: 'Internal Server Error',
    })
    expect(res.headers.get('x-request-id')).toEqual(['req-broken'])
    expect(fixture.logs.records).toContainEqual(
      expect.objectContaining({ level: 'error', requestId: 'req-broken', msg: 'unexpected error' }),
    )
  })
})

describe('defineFunction with an answer', () => {
  const answer = () => jsonAnswer({}, 200)
  it('refuses a function with both a handler and an answer', () => {
    const both = { plane: 'auth', method: 'POST', path: '/oauth/both', answer, handler: () => new Response() }
    expect(() => defineFunction(both as never)).toThrow(/one of a handler, a document or an answer/)
  })
  it('refuses an answer on a path with parameters', () => {
    expect(() => defineFunction({ plane: 'admin', method: 'GET', path: '/api/v1/x/:id', answer })).toThrow(
      /has no path parameters/,
    )
  })
})
