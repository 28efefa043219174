import { createServer, type Server } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { jsonOf } from '../support/http.ts'
import { type AppJson, basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant
let service: AppJson

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
  service = await tenant.createApplication({
    name: 'orders service',
    type: 'service',
    allowed_scopes: ['orders:read', 'orders:write', 'stock:read'],
    default_scopes: ['orders:read'],
    allowed_audiences: ['https://orders.example.com', 'https://stock.example.com'],
    access_token_ttl: 120,
  })
})

const credentials = (params: Record<string, string | string[]> = {}) =>
  tenant.post(
    '/oauth/token',
    { grant_type: 'client_credentials', ...params },
    { authorization: basic(service.client_id, service.client_secret) },
  )

describe('POST /oauth/token (client_credentials, RFC 6749 §4.4)', () => {
  it('issues an RFC 9068 access token, never cached (§5.1)', async () => {
    const res = await credentials()
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('pragma')).toBe('no-cache')
    const body = await jsonOf(res)
    expect(body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 120,
      scope: 'orders:read',
    })
    const { payload, protectedHeader } = await tenant.verify(body.access_token)
    expect(protectedHeader).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) })
    expect(payload).toEqual({
      iss: tenant.issuer,
      sub: service.client_id,
      aud: ['https://orders.example.com', 'https://stock.example.com'],
      client_id: service.client_id,
      scope: 'orders:read',
      jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      iat: expect.any(Number),
      exp: expect.any(Number),
    })
    expect(payload.exp! - payload.iat!).toBe(120)
  })

  it('accepts client_secret_post for a client registered with it', async () => {
    const app = await tenant.createApplication({
      name: 'post',
      type: 'service',
      token_endpoint_auth_method: 'client_secret_post',
    })
    const res = await tenant.post('/oauth/token', {
      grant_type: 'client_credentials',
      client_id: app.client_id,
      client_secret: app.client_secret,
    })
    expect(res.status).toBe(200)
  })

  it('grants the requested scopes within the allowed ones, in order, once each', async () => {
    const body = await jsonOf(await credentials({ scope: 'stock:read orders:write stock:read' }))
    expect(body.scope).toBe('stock:read orders:write')
  })

  it('refuses a scope outside the allowed ones (invalid_scope)', async () => {
    const res = await credentials({ scope: 'orders:read admin' })
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_scope',
      error_description: "scope 'admin' is not allowed for this client",
    })
  })

  it('refuses a malformed scope (RFC 6749 §3.3)', async () => {
    const res = await credentials({ scope: 'orders:read "quoted"' })
    expect((await jsonOf(res)).error).toBe('invalid_scope')
  })

  it('gives every allowed scope when the client has no default scopes', async () => {
    const app = await tenant.createApplication({ name: 'all', type: 'service', allowed_scopes: ['a', 'b'] })
    const res = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(app.client_id, app.client_secret) },
    )
    expect((await jsonOf(res)).scope).toBe('a b')
  })

  it('selects the audience with resource (RFC 8707 §2), one or several', async () => {
    const one = await jsonOf(await credentials({ resource: 'https://stock.example.com' }))
    expect((await tenant.verify(one.access_token)).payload.aud).toBe('https://stock.example.com')
    const two = await jsonOf(
      await credentials({ resource: ['https://stock.example.com', 'https://orders.example.com'] }),
    )
    expect((await tenant.verify(two.access_token)).payload.aud).toEqual([
      'https://stock.example.com',
      'https://orders.example.com',
    ])
  })

  it.each([
    [
      'https://evil.example.com',
      "resource 'https://evil.example.com' is not an allowed audience of this client",
    ],
    ['https://orders.example.com#x', 'resource must be an absolute URI without a fragment'],
    ['orders', 'resource must be an absolute URI without a fragment'],
  ])('refuses resource %s (invalid_target)', async (resource, description) => {
    const res = await credentials({ resource })
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({ error: 'invalid_target', error_description: description })
  })

  it('makes the issuer the audience of a client with no allowed audiences', async () => {
    const token = await tenant.adminToken()
    expect((await tenant.verify(token)).payload.aud).toBe(tenant.issuer)
  })

  it('signs with the organization’s configured algorithm', async () => {
    await t.db.sql(
      `UPDATE organizations SET settings = '{"access_token_signing_alg":"ES256"}' WHERE slug = 'acme'`,
    )
    t.runtime.organizations.invalidate()
    try {
      const body = await jsonOf(await credentials())
      expect((await tenant.verify(body.access_token)).protectedHeader.alg).toBe('ES256')
    } finally {
      await t.db.sql(`UPDATE organizations SET settings = '{}' WHERE slug = 'acme'`)
      t.runtime.organizations.invalidate()
    }
  })
})

describe('POST /oauth/token errors (RFC 6749 §5.2)', () => {
  it('answers 401 invalid_client with a Basic challenge, the same for a wrong secret and an unknown client', async () => {
    const wrong = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(service.client_id, 'nope') },
    )
    const unknown = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic('no-such-client-123', 'nope') },
    )
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401)
      expect(res.headers.get('www-authenticate')).toBe('Basic realm="zenoauth"')
      expect(res.headers.get('cache-control')).toBe('no-store')
    }
    const [a, b] = [await jsonOf(wrong), await jsonOf(unknown)]
    expect(a).toEqual({ error: 'invalid_client', error_description: 'client authentication failed' })
    expect(b).toEqual(a)
  })

  it('answers invalid_client to Basic credentials holding a NUL, and audits the attempt', async () => {
    // A form parameter with a NUL is refused up front (400 invalid_request); a Basic
    // credential is decoded later, and is malformed.
    const res = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic('evil\0client', 'nope') },
    )
    expect(res.status).toBe(401)
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_client',
      error_description: 'malformed Basic credentials',
    })
    await t.runtime.audit.flush()
    const rows = await t.db.sql(
      "SELECT details FROM audit_events WHERE action = 'client.authentication_failed' AND request_id = $1",
      [res.headers.get('x-request-id')],
    )
    expect(rows).toEqual([{ details: { reason: 'malformed Basic credentials' } }])
  })

  it('answers invalid_client to a Basic header without exactly one credential', async () => {
    const valid = basic(service.client_id, service.client_secret)
    for (const authorization of ['Basic', 'Basic   ', `${valid} extra`]) {
      const res = await tenant.post('/oauth/token', { grant_type: 'client_credentials' }, { authorization })
      expect(res.status).toBe(401)
      expect(await jsonOf(res)).toEqual({
        error: 'invalid_client',
        error_description: 'malformed Basic credentials',
      })
    }
  })

  it('refuses a method other than the registered one', async () => {
    const res = await tenant.post('/oauth/token', {
      grant_type: 'client_credentials',
      client_id: service.client_id,
      client_secret: service.client_secret,
    })
    expect(res.status).toBe(401)
    expect((await jsonOf(res)).error_description).toBe('this client authenticates with client_secret_basic')
  })

  it('refuses two authentication methods in one request (invalid_request)', async () => {
    const res = await credentials({ client_secret: service.client_secret })
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_request',
      error_description: 'the client must use exactly one authentication method',
    })
  })

  it('refuses a request with no client authentication', async () => {
    const res = await tenant.post('/oauth/token', { grant_type: 'client_credentials' })
    expect(res.status).toBe(401)
    expect((await jsonOf(res)).error).toBe('invalid_client')
  })

  it('names a missing grant_type', async () => {
    const res = await tenant.post(
      '/oauth/token',
      {},
      { authorization: basic(service.client_id, service.client_secret) },
    )
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_request',
      error_description: '`grant_type` is required',
    })
  })

  it('answers unsupported_grant_type for a grant it does not know', async () => {
    const res = await credentials({ grant_type: 'password' })
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({
      error: 'unsupported_grant_type',
      error_description: "grant_type 'password' is not supported",
    })
  })

  it('answers unauthorized_client for a grant the client may not use', async () => {
    const web = await tenant.createApplication({
      name: 'web',
      type: 'confidential',
      redirect_uris: ['https://app.example.com/cb'],
    })
    const res = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(web.client_id, web.client_secret) },
    )
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({
      error: 'unauthorized_client',
      error_description: 'this client may not use the client_credentials grant',
    })
  })

  it('rejects a repeated parameter', async () => {
    const res = await credentials({ scope: ['orders:read', 'stock:read'] })
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_request',
      error_description: '`scope` must not appear more than once',
    })
  })

  it('refuses a disabled client', async () => {
    const app = await tenant.createApplication({ name: 'soon disabled', type: 'service' })
    expect((await tenant.admin('PATCH', `/api/v1/applications/${app.id}`, { is_active: false })).status).toBe(
      200,
    )
    const res = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(app.client_id, app.client_secret) },
    )
    expect(res.status).toBe(401)
  })
})

describe('secret rotation', () => {
  /** A client-credentials request of `app` authenticated with `secret`. */
  const tokenWith = (app: AppJson, secret: string) =>
    tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(app.client_id, secret) },
    )

  it('keeps the old secret valid for the grace period, and not after', async () => {
    const app = await tenant.createApplication({ name: 'rotating', type: 'service' })
    const grace = await jsonOf(
      await tenant.admin('POST', `/api/v1/applications/${app.id}/secret`, { grace_period_seconds: 600 }),
    )
    expect((await tokenWith(app, app.client_secret)).status).toBe(200)
    expect((await tokenWith(app, grace.client_secret)).status).toBe(200)
    const now = await jsonOf(await tenant.admin('POST', `/api/v1/applications/${app.id}/secret`, {}))
    expect((await tokenWith(app, app.client_secret)).status).toBe(401)
    expect((await tokenWith(app, grace.client_secret)).status).toBe(401)
    expect((await tokenWith(app, now.client_secret)).status).toBe(200)
  })

  it('gives the grace to the current secret only: repeated rotations leave at most two valid', async () => {
    const app = await tenant.createApplication({ name: 'rotated often', type: 'service' })
    const rotate = async () =>
      jsonOf(
        await tenant.admin('POST', `/api/v1/applications/${app.id}/secret`, { grace_period_seconds: 600 }),
      )
    const second = await rotate()
    const third = await rotate()
    const fourth = await rotate()
    // The first and second secrets were in grace when the later rotations came: they ended.
    expect((await tokenWith(app, app.client_secret)).status).toBe(401)
    expect((await tokenWith(app, second.client_secret)).status).toBe(401)
    expect((await tokenWith(app, third.client_secret)).status).toBe(200)
    expect((await tokenWith(app, fourth.client_secret)).status).toBe(200)
    const valid = await t.db.sql(
      `SELECT count(*)::int AS n FROM application_secrets s JOIN applications a ON a.id = s.application_id
        WHERE a.client_id = $1 AND (s.expires_at IS NULL OR s.expires_at > now())`,
      [app.client_id],
    )
    expect(valid).toEqual([{ n: 2 }])
    const audit = await t.db.sql(
      `SELECT details->'earlier_secrets_ended' AS ended FROM audit_events
        WHERE action = 'application.secret_rotated' AND target_id = $1 ORDER BY occurred_at, id`,
      [app.id],
    )
    expect(audit.map((r) => r.ended)).toEqual([null, 1, 1])
  })
})

describe('private_key_jwt (RFC 7523 §2.2)', () => {
  let keys: Awaited<ReturnType<typeof generateKeyPair>>
  let app: AppJson
  let jwksServer: Server
  beforeAll(async () => {
    keys = await generateKeyPair('ES256')
    app = await tenant.createApplication({
      name: 'signed',
      type: 'service',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] },
    })
  })
  afterAll(() => jwksServer?.close())

  // The claims given override the defaults; undefined removes one.
  const assertion = (claims: Record<string, unknown> = {}, key = keys.privateKey, exp = '2m') =>
    new SignJWT({
      jti: crypto.randomUUID(),
      iss: app.client_id,
      sub: app.client_id,
      aud: `${tenant.issuer}/oauth/token`,
      ...claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key)
  const withAssertion = (jwt: string, clientId?: string) =>
    tenant.post('/oauth/token', {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
      ...(clientId ? { client_id: clientId } : {}),
    })

  it('authenticates a client by a signed assertion, with or without client_id', async () => {
    expect((await withAssertion(await assertion())).status).toBe(200)
    expect((await withAssertion(await assertion(), app.client_id)).status).toBe(200)
  })

  it('accepts the issuer as the audience', async () => {
    const jwt = await assertion({ aud: tenant.issuer })
    expect((await withAssertion(jwt)).status).toBe(200)
  })

  it('refuses an assertion used twice (jti replay)', async () => {
    const jwt = await assertion()
    expect((await withAssertion(jwt)).status).toBe(200)
    const again = await withAssertion(jwt)
    expect(again.status).toBe(401)
    expect((await jsonOf(again)).error_description).toBe('the client assertion was already used')
  })

  it.each([
    ['another audience', { aud: 'https://elsewhere.example.com/token' }],
    ['no jti', { jti: undefined }],
  ])('refuses an assertion with %s', async (_name, claims) => {
    const res = await withAssertion(await assertion(claims))
    expect(res.status).toBe(401)
    expect((await jsonOf(res)).error_description).toBe('the client assertion is invalid')
  })

  it('refuses an expired assertion, and one that lives too long', async () => {
    expect((await withAssertion(await assertion({}, keys.privateKey, '-2m'))).status).toBe(401)
    const long = await withAssertion(await assertion({}, keys.privateKey, '2h'))
    expect((await jsonOf(long)).error_description).toBe('the client assertion must expire within 600 seconds')
  })

  it('refuses an assertion signed by another key', async () => {
    const other = await generateKeyPair('ES256')
    expect((await withAssertion(await assertion({}, other.privateKey))).status).toBe(401)
  })

  it('refuses a wrong client_assertion_type', async () => {
    const res = await tenant.post('/oauth/token', {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:example:other',
      client_assertion: await assertion(),
    })
    expect(res.status).toBe(400)
  })

  it('fetches the keys from jwks_uri', async () => {
    const port = await freePort()
    const published = { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256' }] }
    jwksServer = createServer((_req, res) =>
      res.setHeader('content-type', 'application/json').end(JSON.stringify(published)),
    )
    await new Promise<void>((r) => jwksServer.listen(port, '127.0.0.1', r))
    const remote = await tenant.createApplication({
      name: 'remote keys',
      type: 'service',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: `http://127.0.0.1:${port}/jwks.json`,
    })
    const jwt = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(remote.client_id)
      .setSubject(remote.client_id)
      .setAudience(`${tenant.issuer}/oauth/token`)
      .setExpirationTime('1m')
      .sign(keys.privateKey)
    expect((await withAssertion(jwt)).status).toBe(200)
  })
})

describe('the hot path', () => {
  it('issues tokens with no database round trip once caches are warm, and audits them in batches', async () => {
    await credentials()
    // The periodic audit flush would check a connection out if the loop outlasted a second.
    await t.runtime.audit.stop()
    let checkouts = 0
    const count = () => {
      checkouts++
    }
    t.runtime.db.pool.on('acquire', count)
    const jtis: string[] = []
    try {
      for (let i = 0; i < 20; i++) {
        const body = await jsonOf(await credentials())
        jtis.push((await tenant.verify(body.access_token)).payload.jti!)
      }
    } finally {
      t.runtime.db.pool.off('acquire', count)
      t.runtime.audit.start()
    }
    expect(checkouts).toBe(0)
    await t.runtime.audit.flush()
    const rows = await t.db.sql<{ target_id: string; actor_id: string; details: Record<string, unknown> }>(
      "SELECT target_id, actor_id, details FROM audit_events WHERE action = 'token.issued' AND target_id = ANY($1)",
      [jtis],
    )
    expect(rows).toHaveLength(20)
    expect(rows[0]).toMatchObject({
      actor_id: service.client_id,
      details: { grant_type: 'client_credentials', scope: 'orders:read' },
    })
  })

  it('audits failed client authentication', async () => {
    await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { authorization: basic(service.client_id, 'wrong-secret') },
    )
    await t.runtime.audit.flush()
    const rows = await t.db.sql(
      "SELECT result, details FROM audit_events WHERE action = 'client.authentication_failed'",
    )
    expect(rows).toContainEqual({ result: 'failure', details: { reason: 'client authentication failed' } })
  })
})
