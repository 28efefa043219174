/**
 * Behaviours of the OpenID Foundation's Basic OP test plan, and RFC 9700 (Security BCP)
 * checks of the authorization endpoint, each as a test.
 */
import { createHash, randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { Browser, type Followed, formAction, hiddenFields, signIn } from '../support/browser.ts'
import { jsonOf } from '../support/http.ts'
import { type AppJson, basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

const REDIRECT = 'https://rp.example.com/cb'
const PASSWORD = 'correct horse battery staple'
let t: TestRuntime
let tenant: Tenant
let app: AppJson

beforeAll(async () => {
  // Each test browser is its own client address, so the login rate limit per IP is per test.
  t = await createTestRuntime({ env: { TRUST_PROXY_HOPS: '1' } })
  tenant = await createTenant(t, 'acme')
  app = await tenant.createApplication({
    name: 'Shop',
    type: 'confidential',
    redirect_uris: [REDIRECT],
    allowed_scopes: ['openid', 'profile', 'email', 'offline_access'],
    allowed_audiences: ['https://api.example.com'],
    authorization_details_types: ['payment_initiation'],
  })
  await tenant.admin('POST', '/api/v1/users', { email: 'alice@acme.test', password: PASSWORD, name: 'Alice' })
})

let clients = 0
const browser = () =>
  new Browser(async (url, init) => t.app.request(url, init), t.config.publicUrl, {
    'x-forwarded-for': `10.0.0.${++clients}`,
  })

function pkce() {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

function authorizeUrl(
  params: Record<string, string | undefined>,
  client: AppJson = app,
): { url: string; verifier: string } {
  const { verifier, challenge } = pkce()
  const all: Record<string, string | undefined> = {
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'openid',
    state: 'st-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  }
  const q = new URLSearchParams(Object.entries(all).filter((e): e is [string, string] => e[1] !== undefined))
  return { url: `/oauth/authorize?${q}`, verifier }
}

async function exchange(code: string, verifier: string, client: AppJson = app) {
  const res = await tenant.post(
    '/oauth/token',
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
    { authorization: basic(client.client_id, client.client_secret) },
  )
  return { status: res.status, body: await jsonOf(res) }
}

const idClaims = (idToken: string) => JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString())
const codeOf = (done: Followed) => done.external!.searchParams.get('code')!

let users = 0
/** A browser that signed in as a new user and consented once (to openid profile email). */
async function signedIn(): Promise<Browser> {
  const email = `user${++users}@acme.test`
  expect((await tenant.admin('POST', '/api/v1/users', { email, password: PASSWORD })).status).toBe(201)
  const b = browser()
  const { url } = authorizeUrl({ scope: 'openid profile email' })
  const done = await signIn(b, await b.visit(url), email, PASSWORD)
  b.email = email
  expect(done.external).toBeDefined()
  return b
}

describe('authorization code flow (OIDC Basic OP)', () => {
  it('answers a code with state and iss (RFC 9207) on the registered redirect URI', async () => {
    const b = browser()
    const { url, verifier } = authorizeUrl({ nonce: 'n-1', state: 'abc' })
    const done = await signIn(b, await b.visit(url), 'alice@acme.test', PASSWORD)
    expect(done.external!.origin + done.external!.pathname).toBe(REDIRECT)
    expect(done.external!.searchParams.get('state')).toBe('abc')
    expect(done.external!.searchParams.get('iss')).toBe(tenant.issuer)
    const { status, body } = await exchange(codeOf(done), verifier)
    expect(status).toBe(200)
    expect(idClaims(body.id_token)).toMatchObject({ nonce: 'n-1', iss: tenant.issuer, aud: app.client_id })
  })

  it('refuses a code used twice (invalid_grant) and revokes what the first use issued', async () => {
    const b = browser()
    const { url, verifier } = authorizeUrl({ scope: 'openid offline_access' })
    const done = await signIn(b, await b.visit(url), 'alice@acme.test', PASSWORD)
    const first = await exchange(codeOf(done), verifier)
    expect(first.status).toBe(200)
    const second = await exchange(codeOf(done), verifier)
    expect(second).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'the authorization code was already used' },
    })
    const introspect = await tenant.post(
      '/oauth/introspect',
      { token: first.body.access_token },
      { authorization: basic(app.client_id, app.client_secret) },
    )
    expect((await jsonOf(introspect)).active).toBe(false)
    const refresh = await tenant.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: first.body.refresh_token },
      { authorization: basic(app.client_id, app.client_secret) },
    )
    expect((await jsonOf(refresh)).error).toBe('invalid_grant')
  })

  it('spends a code on a refused exchange; its replay then names nothing as revoked', async () => {
    const b = browser()
    const { url, verifier } = authorizeUrl({ scope: 'openid offline_access' })
    const done = await signIn(b, await b.visit(url), 'alice@acme.test', PASSWORD)
    const wrong = await exchange(codeOf(done), pkce().verifier)
    expect(wrong).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'code_verifier does not match the code_challenge' },
    })
    // One try per code: the right verifier comes too late.
    const late = await exchange(codeOf(done), verifier)
    expect(late.body.error_description).toBe('the authorization code was already used')
    const [event] = await t.db.sql<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_events WHERE action = 'authorization_code.replayed'
        ORDER BY occurred_at DESC LIMIT 1`,
    )
    expect(event?.details).toEqual({ revoked_access_token: null, revoked_refresh_family: null })
  })

  it('shows an error page, and never redirects, for a registered redirect URI with text appended', async () => {
    const res = await browser().get(authorizeUrl({ redirect_uri: `${REDIRECT}x` }).url)
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await res.text()).toContain('The redirect_uri is not registered for this application.')
  })

  it.each([
    [{ client_id: undefined }, 'The request does not name a client (client_id).'],
    [{ client_id: 'no-such-client' }, 'The application that sent you here is not known.'],
    [{ redirect_uri: undefined }, 'The request has no redirect_uri.'],
  ])('shows an error page for %j', async (params, message) => {
    const res = await browser().get(authorizeUrl(params).url)
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(await res.text()).toContain(message)
  })

  it('answers prompt=none without a session with login_required', async () => {
    const done = await browser().visit(authorizeUrl({ prompt: 'none' }).url)
    expect(Object.fromEntries(done.external!.searchParams)).toEqual({
      error: 'login_required',
      error_description: 'the user must sign in',
      state: 'st-1',
      iss: tenant.issuer,
    })
  })

  it('re-authenticates on prompt=login: auth_time advances', async () => {
    const b = await signedIn()
    const before = authorizeUrl({})
    const old = await exchange(codeOf(await b.visit(before.url)), before.verifier)
    const oldAuthTime = idClaims(old.body.id_token).auth_time
    await t.db.sql("UPDATE sessions SET auth_time = auth_time - interval '60 seconds'")
    const { url, verifier } = authorizeUrl({ prompt: 'login' })
    const page = await b.visit(url)
    expect(page.url).toContain('/auth/login?interaction=')
    const done = await signIn(b, page, b.email!, PASSWORD)
    const fresh = await exchange(codeOf(done), verifier)
    expect(idClaims(fresh.body.id_token).auth_time).toBeGreaterThanOrEqual(oldAuthTime)
    expect(idClaims(fresh.body.id_token).auth_time).toBeGreaterThan(Math.floor(Date.now() / 1000) - 30)
  })

  it('forces a login when max_age has passed, and includes auth_time', async () => {
    const b = await signedIn()
    await t.db.sql("UPDATE sessions SET auth_time = now() - interval '10 seconds'")
    const { url, verifier } = authorizeUrl({ max_age: '1' })
    const page = await b.visit(url)
    expect(page.url).toContain('/auth/login?interaction=')
    const done = await signIn(b, page, b.email!, PASSWORD)
    const { body } = await exchange(codeOf(done), verifier)
    expect(Math.floor(Date.now() / 1000) - idClaims(body.id_token).auth_time).toBeLessThan(10)
  })

  it('succeeds without a nonce (none in the ID token)', async () => {
    const b = await signedIn()
    const { url, verifier } = authorizeUrl({ nonce: undefined })
    const { body } = await exchange(codeOf(await b.visit(url)), verifier)
    expect(idClaims(body.id_token)).not.toHaveProperty('nonce')
  })

  it('ignores an unknown parameter', async () => {
    const b = await signedIn()
    const done = await b.visit(
      authorizeUrl({ unknown_param: 'x', ui_locales: 'fr-CA', display: 'popup', acr_values: 'urn:x' }).url,
    )
    expect(done.external?.searchParams.get('code')).toBeTruthy()
  })

  it('accepts the scopes in reverse order', async () => {
    const b = await signedIn()
    const { url, verifier } = authorizeUrl({ scope: 'email profile openid' })
    const { body } = await exchange(codeOf(await b.visit(url)), verifier)
    expect(body.scope).toBe('email profile openid')
  })

  it('accepts the request by POST', async () => {
    const b = await signedIn()
    const { url, verifier } = authorizeUrl({})
    const fields = Object.fromEntries(new URL(url, 'http://x').searchParams)
    const done = await b.submit('/oauth/authorize', fields)
    expect((await exchange(codeOf(done), verifier)).status).toBe(200)
  })

  it('answers prompt=none with id_token_hint for the signed-in user with a code', async () => {
    const b = await signedIn()
    const first = authorizeUrl({})
    const { body } = await exchange(codeOf(await b.visit(first.url)), first.verifier)
    const done = await b.visit(authorizeUrl({ prompt: 'none', id_token_hint: body.id_token }).url)
    expect(done.external?.searchParams.get('code')).toBeTruthy()
    // And login_required for someone else's.
    const other = await b.visit(authorizeUrl({ prompt: 'none', id_token_hint: 'not.a.token' }).url)
    expect(other.external?.searchParams.get('error')).toBe('invalid_request')
  })
})

describe('consent', () => {
  it('asks once per scope set, and again for a new scope', async () => {
    const b = await signedIn()
    const same = await b.visit(authorizeUrl({ scope: 'openid email' }).url)
    expect(same.external).toBeDefined()
    const more = await b.visit(authorizeUrl({ scope: 'openid offline_access' }).url)
    expect(more.url).toContain('/auth/consent?interaction=')
    expect(more.body).toContain('Keep access while you are not signed in')
  })

  it('answers a denial with access_denied', async () => {
    const b = browser()
    const done = await signIn(
      b,
      await b.visit(authorizeUrl({ scope: 'openid profile' }).url),
      'alice@acme.test',
      PASSWORD,
      'deny',
    )
    const fresh = browser()
    const landed = await fresh.visit(authorizeUrl({ scope: 'openid profile', prompt: 'consent' }).url)
    const denied = await signIn(fresh, landed, 'alice@acme.test', PASSWORD, 'deny')
    expect(denied.external?.searchParams.get('error')).toBe('access_denied')
    expect(done.external).toBeDefined()
  })

  it('answers prompt=none with consent_required when consent is missing', async () => {
    const b = await signedIn()
    const done = await b.visit(authorizeUrl({ scope: 'openid offline_access', prompt: 'none' }).url)
    expect(done.external?.searchParams.get('error')).toBe('consent_required')
  })

  it('is skipped for first-party applications', async () => {
    const own = await tenant.createApplication({
      name: 'Own',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid', 'email'],
      first_party: true,
    })
    const b = browser()
    const landed = await b.visit(authorizeUrl({ scope: 'openid email' }, own).url)
    const done = await b.submit(formAction(landed.body), {
      ...hiddenFields(landed.body),
      email: 'alice@acme.test',
      password: PASSWORD,
    })
    expect(done.external?.searchParams.get('code')).toBeTruthy()
  })

  it('shows authorization_details (RFC 9396) and returns them in the token response and the access token', async () => {
    const details = [
      {
        type: 'payment_initiation',
        actions: ['initiate'],
        locations: ['https://bank.example.com/payments'],
        instructedAmount: { currency: 'EUR', amount: '123.50' },
      },
    ]
    const b = await signedIn()
    const { url, verifier } = authorizeUrl({ authorization_details: JSON.stringify(details) })
    const page = await b.visit(url)
    expect(page.url).toContain('/auth/consent?interaction=')
    expect(page.body).toContain('payment_initiation')
    expect(page.body).toContain('123.50')
    const done = await b.submit(formAction(page.body), { ...hiddenFields(page.body), decision: 'allow' })
    const { body } = await exchange(codeOf(done), verifier)
    expect(body.authorization_details).toEqual(details)
    expect((await tenant.verify(body.access_token)).payload.authorization_details).toEqual(details)
  })

  it('refuses an authorization_details type the application may not request', async () => {
    const done = await browser().visit(
      authorizeUrl({ authorization_details: JSON.stringify([{ type: 'account_information' }]) }).url,
    )
    expect(done.external?.searchParams.get('error')).toBe('invalid_authorization_details')
  })

  it.each([
    [
      'a NUL character',
      { type: 'payment_initiation', creditor: 'a\u0000b' },
      '[0].creditor must not contain a NUL character',
    ],
    [
      'a lone surrogate',
      { type: 'payment_initiation', creditor: '\ud800' },
      '[0].creditor must be well-formed Unicode (no lone surrogate)',
    ],
    [
      'nesting deeper than 32 levels',
      { type: 'payment_initiation', deep: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) },
      ' nests deeper than 32 levels',
    ],
  ])(
    'refuses authorization_details holding %s, which PostgreSQL could not store as sent',
    async (_, detail, said) => {
      const done = await browser().visit(
        authorizeUrl({ authorization_details: JSON.stringify([detail]) }).url,
      )
      expect(done.external?.searchParams.get('error')).toBe('invalid_authorization_details')
      expect(done.external?.searchParams.get('error_description')).toContain(said)
    },
  )
})

describe('authorization request checks (RFC 9700)', () => {
  it.each([
    [{ code_challenge_method: 'plain' }, 'invalid_request', 'code_challenge_method must be S256'],
    [{ response_type: 'token' }, 'unsupported_response_type', 'only response_type=code is supported'],
    [{ response_type: undefined }, 'invalid_request', 'response_type is required'],
    [{ scope: 'openid admin' }, 'invalid_scope', "scope 'admin' is not allowed for this client"],
    [{ prompt: 'none login' }, 'invalid_request', 'prompt=none cannot be combined with other values'],
    [{ request: 'eyJ.x.y' }, 'request_not_supported', 'request objects are not supported'],
    [
      { resource: 'https://other.example.com' },
      'invalid_target',
      "resource 'https://other.example.com' is not an allowed audience of this client",
    ],
  ])('redirects %j with %s', async (params, error, description) => {
    const done = await browser().visit(authorizeUrl(params).url)
    expect(done.external?.searchParams.get('error')).toBe(error)
    expect(done.external?.searchParams.get('error_description')).toBe(description)
    expect(done.external?.searchParams.get('iss')).toBe(tenant.issuer)
  })

  it.each([
    ['scope', { scope: `openid ${'x'.repeat(100_000)}` }, 'invalid_scope'],
    ['prompt', { prompt: 'y'.repeat(100_000) }, 'invalid_request'],
  ])(
    'bounds what it echoes: a 100 KB %s gets a short error redirect (RFC 6749 §4.1.2.1)',
    async (_what, params, error) => {
      const res = await browser().get(authorizeUrl(params).url)
      expect(res.status).toBe(303)
      const location = res.headers.get('location')!
      expect(location.length).toBeLessThan(1024)
      const answer = new URL(location)
      expect(answer.searchParams.get('error')).toBe(error)
      expect(answer.searchParams.get('state')).toBe('st-1')
      expect(answer.searchParams.get('error_description')).toMatch(/\.\.\.$/)
    },
  )

  it('answers a state too long to echo (100 KB) on the error page, not at the redirect URI', async () => {
    const res = await browser().get(authorizeUrl({ state: 's'.repeat(100_000) }).url)
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const page = await res.text()
    expect(page).toContain('too long')
    expect(page.length).toBeLessThan(10_000)
  })

  it('requires PKCE of public clients', async () => {
    const spa = await tenant.createApplication({
      name: 'SPA',
      type: 'public',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid'],
    })
    const done = await browser().visit(
      authorizeUrl({ code_challenge: undefined, code_challenge_method: undefined }, spa).url,
    )
    expect(done.external?.searchParams.get('error_description')).toBe(
      'PKCE (code_challenge with S256) is required for public clients',
    )
  })

  it('requires PAR of applications that must push their requests', async () => {
    const strict = await tenant.createApplication({
      name: 'Strict',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid'],
      require_pushed_authorization_requests: true,
    })
    const done = await browser().visit(authorizeUrl({}, strict).url)
    expect(done.external?.searchParams.get('error_description')).toBe(
      'this client must push its authorization requests (RFC 9126)',
    )
  })

  it('answers with form_post when asked (an auto-submitted form, with its CSP)', async () => {
    const b = await signedIn()
    const res = await b.get(authorizeUrl({ response_mode: 'form_post', state: 'fp' }).url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self' https://rp.example.com")
    const page = await res.text()
    expect(formAction(page)).toBe(REDIRECT)
    expect(hiddenFields(page)).toEqual({ code: expect.any(String), state: 'fp', iss: tenant.issuer })
  })

  it('binds the code to the client, the redirect URI and the verifier', async () => {
    const other = await tenant.createApplication({
      name: 'Other',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid'],
    })
    const cases: [Record<string, string>, AppJson, string][] = [
      [{ redirect_uri: `${REDIRECT}/other` }, app, 'redirect_uri does not match the authorization request'],
      [{ code_verifier: pkce().verifier }, app, 'code_verifier does not match the code_challenge'],
      [{}, other, 'the authorization code was issued to another client'],
    ]
    for (const [override, client, description] of cases) {
      const b = await signedIn()
      const { url, verifier } = authorizeUrl({})
      const code = codeOf(await b.visit(url))
      const res = await tenant.post(
        '/oauth/token',
        {
          grant_type: 'authorization_code',
          code,
          redirect_uri: REDIRECT,
          code_verifier: verifier,
          ...override,
        },
        { authorization: basic(client.client_id, client.client_secret) },
      )
      expect(await jsonOf(res)).toEqual({ error: 'invalid_grant', error_description: description })
    }
  })

  it('puts the requested resource in the access token audience (RFC 8707)', async () => {
    const b = await signedIn()
    const { url, verifier } = authorizeUrl({ resource: 'https://api.example.com' })
    const { body } = await exchange(codeOf(await b.visit(url)), verifier)
    expect((await tenant.verify(body.access_token)).payload.aud).toBe('https://api.example.com')
  })

  it('refuses an expired code', async () => {
    const b = await signedIn()
    const { url, verifier } = authorizeUrl({})
    const code = codeOf(await b.visit(url))
    await t.db.sql(
      "UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE consumed_at IS NULL",
    )
    expect((await exchange(code, verifier)).body.error_description).toBe(
      'the authorization code is invalid or expired',
    )
  })
})
