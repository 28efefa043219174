import { beforeAll, describe, expect, it } from 'vitest'
import { Browser, formAction, hiddenFields } from '../support/browser.ts'
import { jsonOf } from '../support/http.ts'
import { basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant

beforeAll(async () => {
  t = await createTestRuntime({ env: { TRUST_PROXY_HOPS: '1' } })
  tenant = await createTenant(t, 'acme')
})

let ips = 0
const register = (body: unknown, headers: Record<string, string> = {}) =>
  t.app.request('/oauth/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.5.0.${++ips}`, ...headers },
    body: JSON.stringify(body),
  })
const METADATA = {
  redirect_uris: ['https://rp.example.com/cb'],
  client_name: 'Dynamic RP',
  scope: 'openid email',
  contacts: ['ops@rp.example.com'],
}

async function setPolicy(policy: 'open' | 'initial_access_token') {
  expect(
    (await tenant.admin('PATCH', '/api/v1/organization', { settings: { registration_policy: policy } }))
      .status,
  ).toBe(200)
}

describe('POST /oauth/register (RFC 7591)', () => {
  it('needs an initial access token by default (401 with a Bearer challenge)', async () => {
    const res = await register(METADATA)
    expect(res.status).toBe(401)
    expect(res.headers.get('www-authenticate')).toBe(`Bearer realm="${tenant.issuer}"`)
    expect((await jsonOf(res)).error).toBe('invalid_token')
  })

  it('registers with an initial access token, which is used up', async () => {
    const issued = await jsonOf(await tenant.admin('POST', '/api/v1/registration-tokens', { uses: 1 }))
    const res = await register(METADATA, { authorization: `Bearer ${issued.token}` })
    expect(res.status).toBe(201)
    expect(res.headers.get('cache-control')).toBe('no-store')
    const body = await jsonOf(res)
    expect(body).toEqual({
      client_id: expect.any(String),
      client_secret: expect.any(String),
      client_secret_expires_at: 0,
      client_id_issued_at: expect.any(Number),
      registration_access_token: expect.any(String),
      registration_client_uri: `${tenant.issuer}/oauth/register/${body.client_id}`,
      client_name: 'Dynamic RP',
      redirect_uris: ['https://rp.example.com/cb'],
      post_logout_redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code'],
      scope: 'openid email',
      id_token_signed_response_alg: 'RS256',
      contacts: ['ops@rp.example.com'],
    })
    expect((await register(METADATA, { authorization: `Bearer ${issued.token}` })).status).toBe(401)
  })

  it('registers without a token when the organization allows it, RS256 by default, audited', async () => {
    await setPolicy('open')
    const res = await register({ redirect_uris: ['https://rp.example.com/cb'] })
    expect(res.status).toBe(201)
    const body = await jsonOf(res)
    expect(body.id_token_signed_response_alg).toBe('RS256')
    expect(
      await t.db.sql(
        "SELECT actor_type FROM audit_events WHERE action = 'application.registered' AND details->>'client_id' = $1",
        [body.client_id],
      ),
    ).toEqual([{ actor_type: 'anonymous' }])
  })

  it.each([
    [{ redirect_uris: ['http://rp.example.com/cb'] }, 'invalid_redirect_uri'],
    [{ redirect_uris: [] }, 'invalid_redirect_uri'],
    [{ redirect_uris: ['https://rp.example.com/cb#x'] }, 'invalid_redirect_uri'],
    [
      { redirect_uris: ['https://rp.example.com/cb'], token_endpoint_auth_method: 'tls_client_auth' },
      'invalid_client_metadata',
    ],
    [
      { redirect_uris: ['https://rp.example.com/cb'], token_endpoint_auth_method: 'private_key_jwt' },
      'invalid_client_metadata',
    ],
    [
      { redirect_uris: ['https://rp.example.com/cb'], scope: 'openid admin:everything' },
      'invalid_client_metadata',
    ],
    [
      { redirect_uris: ['https://rp.example.com/cb'], jwks_uri: 'http://internal.example/keys' },
      'invalid_client_metadata',
    ],
  ])('refuses %j with %s', async (metadata, error) => {
    await setPolicy('open')
    const res = await register(metadata)
    expect(res.status).toBe(400)
    expect((await jsonOf(res)).error).toBe(error)
  })

  it('ignores metadata it does not understand', async () => {
    await setPolicy('open')
    const res = await register({ ...METADATA, frobnication_level: 11 })
    expect(res.status).toBe(201)
    expect(await jsonOf(res)).not.toHaveProperty('frobnication_level')
  })

  it('registers a public client (none) that can run the code flow with PKCE', async () => {
    await setPolicy('open')
    const body = await jsonOf(
      await register({ redirect_uris: ['http://127.0.0.1:8000/cb'], token_endpoint_auth_method: 'none' }),
    )
    expect(body).not.toHaveProperty('client_secret')
    const app = await jsonOf(await tenant.admin('GET', `/api/v1/applications?limit=200`))
    expect(app.data.find((a: { client_id: string }) => a.client_id === body.client_id)).toMatchObject({
      type: 'public',
    })
  })

  it('limits registrations per IP', async () => {
    await setPolicy('open')
    const statuses = []
    for (let i = 0; i < 21; i++) {
      const res = await t.app.request('/oauth/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.6.6.6' },
        body: JSON.stringify(METADATA),
      })
      statuses.push(res.status)
    }
    expect(statuses.slice(0, 20).every((s) => s === 201)).toBe(true)
    expect(statuses[20]).toBe(429)
  })
})

describe('/oauth/register/:client_id (RFC 7592)', () => {
  it('reads, updates and deletes with the registration access token', async () => {
    await setPolicy('open')
    const reg = await jsonOf(await register(METADATA))
    const auth = { authorization: `Bearer ${reg.registration_access_token}` }
    const path = `/oauth/register/${reg.client_id}`
    const read = await t.app.request(path, { headers: auth })
    expect(read.status).toBe(200)
    const current = await jsonOf(read)
    expect(current).toMatchObject({ client_id: reg.client_id, client_name: 'Dynamic RP' })
    expect(current).not.toHaveProperty('client_secret')

    const update = await t.app.request(path, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        ...METADATA,
        client_id: reg.client_id,
        client_name: 'Renamed',
        redirect_uris: ['https://rp.example.com/new'],
      }),
    })
    expect(update.status).toBe(200)
    expect(await jsonOf(update)).toMatchObject({
      client_name: 'Renamed',
      redirect_uris: ['https://rp.example.com/new'],
    })

    // The client still authenticates with its secret.
    const cc = await tenant.post(
      '/oauth/introspect',
      { token: 'x' },
      { authorization: basic(reg.client_id, reg.client_secret) },
    )
    expect(cc.status).toBe(200)

    expect((await t.app.request(path, { method: 'DELETE', headers: auth })).status).toBe(204)
    expect((await t.app.request(path, { headers: auth })).status).toBe(401)
  })

  it('answers 401 for a wrong token and for an unknown client alike', async () => {
    await setPolicy('open')
    const reg = await jsonOf(await register(METADATA))
    const wrong = await t.app.request(`/oauth/register/${reg.client_id}`, {
      headers: { authorization: 'Bearer nope' },
    })
    const unknown = await t.app.request('/oauth/register/no-such-client', {
      headers: { authorization: 'Bearer nope' },
    })
    expect([wrong.status, unknown.status]).toEqual([401, 401])
    expect(await jsonOf(wrong)).toEqual(await jsonOf(unknown))
  })

  it('refuses an update whose client_id is another', async () => {
    await setPolicy('open')
    const reg = await jsonOf(await register(METADATA))
    const res = await t.app.request(`/oauth/register/${reg.client_id}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${reg.registration_access_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...METADATA, client_id: 'someone-else' }),
    })
    expect((await jsonOf(res)).error).toBe('invalid_client_metadata')
  })
})

describe('POST /oauth/par (RFC 9126)', () => {
  it('answers 201 with a request_uri and expires_in, and errors as JSON', async () => {
    const app = await tenant.createApplication({
      name: 'par',
      type: 'confidential',
      redirect_uris: ['https://rp.example.com/cb'],
      allowed_scopes: ['openid'],
    })
    const auth = { authorization: basic(app.client_id, app.client_secret) }
    const params = {
      response_type: 'code',
      redirect_uri: 'https://rp.example.com/cb',
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }
    const ok = await tenant.post('/oauth/par', params, auth)
    expect(ok.status).toBe(201)
    expect(await jsonOf(ok)).toEqual({
      request_uri: expect.stringMatching(/^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$/),
      expires_in: 60,
    })
    const bad = await tenant.post(
      '/oauth/par',
      { ...params, redirect_uri: 'https://evil.example.com/cb' },
      auth,
    )
    expect(bad.status).toBe(400)
    expect(await jsonOf(bad)).toEqual({
      error: 'invalid_request',
      error_description: 'The redirect_uri is not registered for this application.',
    })
    const badScope = await tenant.post('/oauth/par', { ...params, scope: 'openid nope' }, auth)
    expect((await jsonOf(badScope)).error).toBe('invalid_scope')
    expect((await tenant.post('/oauth/par', params)).status).toBe(401)
    expect(
      (await jsonOf(await tenant.post('/oauth/par', { ...params, request_uri: 'urn:x' }, auth))).error,
    ).toBe('invalid_request')
  })
})

describe('the consent page of a dynamically registered client', () => {
  const PASSWORD = 'correct horse battery staple'
  const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

  /** The consent page a signed-in person sees when `clientId` asks for openid. */
  async function consentPageOf(clientId: string, redirectUri: string): Promise<string> {
    const email = `consent-${++ips}@acme.test`
    expect((await tenant.admin('POST', '/api/v1/users', { email, password: PASSWORD })).status).toBe(201)
    const b = new Browser(async (url, init) => t.app.request(url, init), t.config.publicUrl, {
      'x-forwarded-for': `10.6.0.${ips}`,
    })
    const login = await b.visit('/auth/login')
    await b.submit(formAction(login.body), { ...hiddenFields(login.body), email, password: PASSWORD })
    const page = await b.visit(
      `/oauth/authorize?client_id=${clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&response_type=code&scope=openid&code_challenge=${CHALLENGE}&code_challenge_method=S256`,
    )
    expect(page.url).toContain('/auth/consent?interaction=')
    return page.body
  }

  it('says that it registered itself, and shows where the answer goes', async () => {
    await setPolicy('open')
    const registered = await jsonOf(
      await register({ redirect_uris: ['https://lookalike.example.net/cb'], client_name: 'Acme Payroll' }),
    )
    const body = await consentPageOf(registered.client_id, 'https://lookalike.example.net/cb')
    expect(body).toContain('Acme Payroll wants to access your account')
    expect(body).toContain('registered itself')
    expect(body).toContain('<strong>lookalike.example.net</strong>')
  })

  it('of an administrator’s application shows where the answer goes, without the warning', async () => {
    const app = await tenant.createApplication({
      name: 'Partner',
      type: 'confidential',
      redirect_uris: ['https://partner.example.org/cb'],
      allowed_scopes: ['openid'],
    })
    const body = await consentPageOf(app.client_id, 'https://partner.example.org/cb')
    expect(body).toContain('<strong>partner.example.org</strong>')
    expect(body).not.toContain('registered itself')
  })
})
