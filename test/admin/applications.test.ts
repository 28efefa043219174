import { beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN_SCOPES } from '../../shared/admin-scopes.ts'
import { jsonOf } from '../support/http.ts'
import { basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
})

const WEB = {
  name: 'Shop',
  type: 'confidential',
  redirect_uris: ['https://shop.example.com/callback'],
  allowed_scopes: ['openid', 'profile'],
}

describe('authorization of the admin API (RFC 6750)', () => {
  it('answers 401 with a Bearer challenge and problem+json without a token', async () => {
    const res = await t.app.request('/api/v1/applications')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer realm="http://localhost:8080", scope="applications:read"',
    )
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await jsonOf(res)).toMatchObject({
      status: 401,
      code: 'invalid_token',
      detail: 'a bearer access token is required',
    })
  })

  it('answers 401 invalid_token for a bad token', async () => {
    const res = await tenant.admin('GET', '/api/v1/applications', undefined, 'eyJ.bad.token')
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="invalid_token", error_description="the access token is invalid, expired or revoked"',
    )
  })

  it('answers 403 insufficient_scope naming the scope needed', async () => {
    const readOnly = await tenant.adminToken('applications:read')
    expect((await tenant.admin('GET', '/api/v1/applications', undefined, readOnly)).status).toBe(200)
    const res = await tenant.admin('POST', '/api/v1/applications', WEB, readOnly)
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer error="insufficient_scope", error_description="the access token lacks the scope applications:write", scope="applications:write"',
    )
  })

  it('refuses a token meant for another audience', async () => {
    const api = await tenant.createApplication({
      name: 'api client',
      type: 'service',
      allowed_scopes: ['applications:read'],
      allowed_audiences: ['https://api.example.com'],
    })
    const res = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(api.client_id, api.client_secret) },
    )
    const token = (await jsonOf(res)).access_token
    expect((await tenant.admin('GET', '/api/v1/applications', undefined, token)).status).toBe(401)
  })
})

describe('POST /api/v1/applications', () => {
  it('creates an application with defaults by type, shows the secret once, audits it', async () => {
    const res = await tenant.admin('POST', '/api/v1/applications', WEB)
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = await jsonOf(res)
    expect(res.headers.get('location')).toBe(`/api/v1/applications/${body.id}`)
    expect(body).toEqual({
      id: expect.any(String),
      client_id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      client_secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      name: 'Shop',
      type: 'confidential',
      redirect_uris: ['https://shop.example.com/callback'],
      post_logout_redirect_uris: [],
      grant_types: ['authorization_code', 'refresh_token'],
      allowed_scopes: ['openid', 'profile'],
      default_scopes: null,
      allowed_audiences: [],
      token_endpoint_auth_method: 'client_secret_basic',
      jwks: null,
      jwks_uri: null,
      id_token_signed_response_alg: null,
      access_token_ttl: 600,
      first_party: false,
      require_pushed_authorization_requests: false,
      authorization_details_types: [],
      refresh_token_policy: 'offline_access',
      refresh_token_idle_ttl: 1_209_600,
      refresh_token_absolute_ttl: 2_592_000,
      is_active: true,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    })
    const read = await jsonOf(await tenant.admin('GET', `/api/v1/applications/${body.id}`))
    expect(read).not.toHaveProperty('client_secret')
    const audit = await t.db.sql(
      'SELECT action, actor_type, actor_id FROM audit_events WHERE target_id = $1',
      [body.id],
    )
    expect(audit).toEqual([
      {
        action: 'application.created',
        actor_type: 'client',
        actor_id: tenant.bootstrap.admin_client.client_id,
      },
    ])
  })

  it('gives a public application no secret', async () => {
    const body = await tenant.createApplication({
      name: 'SPA',
      type: 'public',
      redirect_uris: ['http://localhost:3000/cb'],
    })
    expect(body.token_endpoint_auth_method).toBe('none')
    expect(body).not.toHaveProperty('client_secret')
  })

  it.each([
    [
      {
        name: 'x',
        type: 'public',
        token_endpoint_auth_method: 'client_secret_basic',
        redirect_uris: ['https://a.example/cb'],
      },
      '/token_endpoint_auth_method',
      'must be none for a public application',
    ],
    [
      { name: 'x', type: 'confidential' },
      '/redirect_uris',
      'authorization_code needs at least one redirect URI',
    ],
    [
      { name: 'x', type: 'service', grant_types: ['authorization_code'] },
      '/grant_types',
      'a service application uses client_credentials only',
    ],
    [
      { name: 'x', type: 'service', token_endpoint_auth_method: 'private_key_jwt' },
      '/jwks',
      'private_key_jwt needs exactly one of jwks and jwks_uri',
    ],
    [
      { name: 'x', type: 'service', allowed_scopes: ['a'], default_scopes: ['b'] },
      '/default_scopes',
      '"b" is not among allowed_scopes',
    ],
  ])('refuses contradicting fields %j', async (body, pointer, detail) => {
    const res = await tenant.admin('POST', '/api/v1/applications', body)
    expect(res.status).toBe(400)
    const problem = await jsonOf(res)
    expect(problem).toMatchObject({ code: 'validation_failed', status: 400 })
    expect(problem.errors).toContainEqual({ pointer, detail })
  })

  it.each([
    [{ ...WEB, redirect_uris: ['http://shop.example.com/cb'] }, '/redirect_uris/0', 'https'],
    [{ ...WEB, redirect_uris: ['https://shop.example.com/cb#frag'] }, '/redirect_uris/0', 'fragment'],
    [{ ...WEB, redirect_uris: ['/relative'] }, '/redirect_uris/0', 'absolute'],
    [{ ...WEB, access_token_ttl: 5 }, '/access_token_ttl', ''],
    [{ ...WEB, type: 'superuser' }, '/type', ''],
    [{ ...WEB, owner: 'me' }, '', 'unknown field'],
    [
      { ...WEB, jwks: { keys: [{ kty: 'EC', d: 'secret' }] }, token_endpoint_auth_method: 'private_key_jwt' },
      '/jwks/keys/0',
      'public key',
    ],
  ])('refuses malformed fields %j', async (body, pointer, words) => {
    const res = await tenant.admin('POST', '/api/v1/applications', body)
    expect(res.status).toBe(400)
    const problem = await jsonOf(res)
    expect(problem.code).toBe('validation_failed')
    expect(JSON.stringify(problem.errors)).toContain(pointer)
    expect(problem.detail).toContain(words)
  })

  it('accepts loopback http and private-use schemes for native apps (RFC 8252)', async () => {
    const body = await tenant.createApplication({
      name: 'native',
      type: 'public',
      redirect_uris: ['http://127.0.0.1:51004/cb', 'com.example.app:/oauth2redirect'],
    })
    expect(body.redirect_uris).toHaveLength(2)
  })
})

describe('GET /api/v1/applications', () => {
  it('pages through every application with a cursor, in creation order', async () => {
    for (let i = 0; i < 5; i++) await tenant.createApplication({ name: `page ${i}`, type: 'service' })
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const res = await tenant.admin(
        'GET',
        `/api/v1/applications?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      )
      expect(res.status).toBe(200)
      const body = await jsonOf(res)
      expect(body.data.length).toBeLessThanOrEqual(2)
      seen.push(...body.data.map((a: { id: string }) => a.id))
      cursor = body.next_cursor
      pages++
    } while (cursor && pages < 50)
    const all = await t.db.sql<{ id: string }>(
      "SELECT a.id FROM applications a JOIN organizations o ON o.id = a.organization_id WHERE o.slug = 'acme' ORDER BY a.created_at, a.id",
    )
    expect(seen).toEqual(all.map((r) => r.id))
  })

  it('refuses a cursor it did not make and a limit out of range', async () => {
    const bad = await tenant.admin('GET', '/api/v1/applications?cursor=forged')
    expect(bad.status).toBe(400)
    expect((await jsonOf(bad)).code).toBe('invalid_cursor')
    expect((await tenant.admin('GET', '/api/v1/applications?limit=1000')).status).toBe(400)
  })

  it('never shows another organization’s applications', async () => {
    const globex = await createTenant(t, 'globex', 'globex.example.test')
    const theirs = await globex.createApplication({ name: 'theirs', type: 'service' })
    const body = await jsonOf(await tenant.admin('GET', '/api/v1/applications?limit=200'))
    expect(body.data.map((a: { id: string }) => a.id)).not.toContain(theirs.id)
    expect((await tenant.admin('GET', `/api/v1/applications/${theirs.id}`)).status).toBe(404)
  })
})

describe('PATCH and DELETE /api/v1/applications/:id', () => {
  it('changes only the fields given and audits which', async () => {
    const app = await tenant.createApplication(WEB)
    const res = await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, {
      name: 'Shop v2',
      allowed_scopes: ['openid'],
    })
    expect(res.status).toBe(200)
    const body = await jsonOf(res)
    expect(body).toMatchObject({
      name: 'Shop v2',
      allowed_scopes: ['openid'],
      redirect_uris: WEB.redirect_uris,
    })
    const [audit] = await t.db.sql(
      "SELECT details FROM audit_events WHERE action = 'application.updated' AND target_id = $1",
      [app.id],
    )
    expect(audit).toEqual({ details: { client_id: app.client_id, fields: ['name', 'allowed_scopes'] } })
  })

  it('checks the rules on the result and writes nothing when they fail', async () => {
    const app = await tenant.createApplication(WEB)
    const res = await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, { redirect_uris: [] })
    expect(res.status).toBe(400)
    expect((await jsonOf(await tenant.admin('GET', `/api/v1/applications/${app.id}`))).redirect_uris).toEqual(
      WEB.redirect_uris,
    )
  })

  it('refuses an empty patch and a change of type', async () => {
    const app = await tenant.createApplication(WEB)
    expect((await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, {})).status).toBe(400)
    expect((await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, { type: 'public' })).status).toBe(
      400,
    )
  })

  it('deletes, then answers 404', async () => {
    const app = await tenant.createApplication({ name: 'gone', type: 'service' })
    expect((await tenant.admin('DELETE', `/api/v1/applications/${app.id}`)).status).toBe(204)
    expect((await tenant.admin('DELETE', `/api/v1/applications/${app.id}`)).status).toBe(404)
    expect((await tenant.admin('GET', `/api/v1/applications/${app.id}`)).status).toBe(404)
    expect((await tenant.admin('GET', '/api/v1/applications/not-a-uuid')).status).toBe(404)
    const actions = await t.db.sql(
      'SELECT action FROM audit_events WHERE target_id = $1 ORDER BY occurred_at',
      [app.id],
    )
    expect(actions).toEqual([{ action: 'application.created' }, { action: 'application.deleted' }])
  })

  it('reaches another process’s client cache within about a second', async () => {
    const second = await createTestRuntime({ db: t.db })
    const app = await tenant.createApplication({ name: 'cached elsewhere', type: 'service' })
    const tokenVia = (runtime: TestRuntime) =>
      runtime.app.request('/oauth/token', {
        method: 'POST',
        headers: {
          host: tenant.host,
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(app.client_id, app.client_secret),
        },
        body: 'grant_type=client_credentials',
      })
    expect((await tokenVia(second)).status).toBe(200)
    await vi.waitFor(() => expect(second.runtime.bus.connected).toBe(true), { timeout: 5000, interval: 20 })
    await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, { is_active: false })
    await vi.waitFor(async () => expect((await tokenVia(second)).status).toBe(401), {
      timeout: 1500,
      interval: 20,
    })
  })
})

describe('POST /api/v1/applications/:id/secret', () => {
  it('answers 409 for an application without secrets', async () => {
    const spa = await tenant.createApplication({
      name: 'SPA2',
      type: 'public',
      redirect_uris: ['https://spa.example.com/cb'],
    })
    const res = await tenant.admin('POST', `/api/v1/applications/${spa.id}/secret`, {})
    expect(res.status).toBe(409)
    expect((await jsonOf(res)).code).toBe('no_secret')
  })

  it('shows the new secret once and audits the rotation', async () => {
    const app = await tenant.createApplication({ name: 'rot', type: 'service' })
    const res = await tenant.admin('POST', `/api/v1/applications/${app.id}/secret`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = await jsonOf(res)
    expect(body).toEqual({
      client_id: app.client_id,
      client_secret: expect.any(String),
      previous_secrets_valid_until: expect.any(String),
    })
    expect(body.client_secret).not.toBe(app.client_secret)
    const audit = await t.db.sql(
      "SELECT 1 FROM audit_events WHERE action = 'application.secret_rotated' AND target_id = $1",
      [app.id],
    )
    expect(audit).toHaveLength(1)
  })
})

describe('GET /api/v1/openapi.json', () => {
  it('describes the admin API from its zod schemas (OpenAPI 3.1)', async () => {
    const res = await t.app.request('/api/v1/openapi.json')
    expect(res.status).toBe(200)
    const doc = await jsonOf(res)
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/applications',
        '/api/v1/applications/{id}',
        '/api/v1/applications/{id}/secret',
        '/api/v1/keys/rotate',
      ]),
    )
    const create = doc.paths['/api/v1/applications'].post
    expect(create.security).toEqual([{ oauth2: ['applications:write'] }])
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name', 'type'])
    expect(create.responses['201'].content['application/json'].schema.properties.client_secret).toBeDefined()
    expect(doc.paths['/api/v1/applications/{id}'].get.parameters).toEqual([
      {
        name: 'id',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ type: 'string', format: 'uuid' }),
      },
    ])
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl).toBe(
      'http://localhost:8080/oauth/token',
    )
  })
  it('lists only scopes that an endpoint asks for: the bootstrap client holds no scope for nothing', async () => {
    const doc = await jsonOf(await t.app.request('/api/v1/openapi.json'))
    const asked = new Set<string>()
    for (const ops of Object.values(doc.paths) as Record<string, { security?: { oauth2: string[] }[] }>[])
      for (const op of Object.values(ops)) for (const s of op.security?.[0]?.oauth2 ?? []) asked.add(s)
    expect([...ADMIN_SCOPES].sort()).toEqual([...asked].sort())
  })
})

describe('authentication before validation', () => {
  const anonymous = (method: string, path: string, body: string) =>
    t.app.request(path, {
      method,
      headers: { host: tenant.host, 'content-type': 'application/json' },
      body,
    })

  it.each([
    ['POST', '/api/v1/applications', JSON.stringify({ name: 'x', type: 'service', jwks_uri: 'not a url' })],
    [
      'PATCH',
      '/api/v1/applications/00000000-0000-4000-8000-000000000000',
      JSON.stringify({ jwks_uri: 'not a url' }),
    ],
    ['POST', '/api/v1/users', '{not json'],
    ['PATCH', '/api/v1/users/not-a-uuid', JSON.stringify({ nothing: true })],
  ])(
    'answers an anonymous %s %s with 401 and a challenge, whatever its body (RFC 6750 §3.1)',
    async (method, path, body) => {
      const res = await anonymous(method, path, body)
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/)
      const problem = await jsonOf(res)
      expect(JSON.stringify(problem)).not.toMatch(/jwks_uri|json|uuid/i)
    },
  )

  it('refuses a jwks_uri that is not a URL with a 400 naming it, for a caller with the scope (a refinement never throws)', async () => {
    const res = await tenant.admin('POST', '/api/v1/applications', {
      name: 'x',
      type: 'service',
      jwks_uri: 'not a url',
    })
    expect(res.status).toBe(400)
    expect((await jsonOf(res)).detail).toBe('`jwks_uri` must be an absolute URI without a fragment')
    const app = await tenant.createApplication({ name: 'y', type: 'service' })
    const patched = await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, { jwks_uri: 'not a url' })
    expect(patched.status).toBe(400)
  })

  it('answers a token without the scope 403 before reading the body', async () => {
    const token = await tenant.adminToken('users:read')
    const res = await tenant.admin('POST', '/api/v1/users', { not: 'valid' }, token)
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"')
  })
})
