import { beforeAll, describe, expect, it } from 'vitest'
import { digestOf } from '../../shared/crypto/random.ts'
import { reaperJob } from '../../shared/jobs/jobs.ts'
import { Browser, formAction, hiddenFields, signIn } from '../support/browser.ts'
import { holdRowLock } from '../support/database.ts'
import { jsonOf } from '../support/http.ts'
import { type AppJson, basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

const REDIRECT = 'https://rp.example.com/cb'
const PASSWORD = 'correct horse battery staple'
let t: TestRuntime
let tenant: Tenant
let app: AppJson
let clients = 0
let users = 0

beforeAll(async () => {
  t = await createTestRuntime({ env: { TRUST_PROXY_HOPS: '1' } })
  tenant = await createTenant(t, 'acme')
  app = await tenant.createApplication({
    name: 'Shop',
    type: 'confidential',
    redirect_uris: [REDIRECT],
    post_logout_redirect_uris: ['https://rp.example.com/bye'],
    allowed_scopes: ['openid', 'offline_access'],
    first_party: true,
  })
})

const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0'
const CHROME_ANDROID =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36'

const browser = (userAgent = FIREFOX_MAC) =>
  new Browser(async (url, init) => t.app.request(url, init), t.config.publicUrl, {
    'x-forwarded-for': `10.3.0.${++clients}`,
    'user-agent': userAgent,
  })

/** The session cards of an account page. */
const sessionCards = (body: string) =>
  body.slice(body.indexOf('aria-labelledby="sessions"'), body.indexOf('id="apps"')).split('<li>').slice(1)

async function signedIn(): Promise<{ b: Browser; email: string; id: string }> {
  const email = `user${++users}@acme.test`
  const res = await tenant.admin('POST', '/api/v1/users', { email, password: PASSWORD })
  const id = (await jsonOf(res)).id
  const b = browser()
  const page = await b.visit('/auth/login')
  await b.submit(formAction(page.body), { ...hiddenFields(page.body), email, password: PASSWORD })
  return { b, email, id }
}

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'

/** An authorization request with PKCE (the verifier is VERIFIER), by `client`, for `scope`. */
const authorize = (
  extra = '',
  { client = app, scope = 'openid' }: { client?: AppJson; scope?: string } = {},
) =>
  `/oauth/authorize?client_id=${client.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&scope=${encodeURIComponent(scope)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256${extra}`

/** The token endpoint's answer to `client` redeeming a code of `authorize`. */
const redeem = (code: string, client: AppJson = app) =>
  tenant.post(
    '/oauth/token',
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: VERIFIER },
    { authorization: basic(client.client_id, client.client_secret) },
  )

describe('sessions', () => {
  it('give single sign-on: a second authorization needs no login', async () => {
    const { b } = await signedIn()
    expect((await b.visit(authorize())).external?.searchParams.get('code')).toBeTruthy()
  })

  it('of a user disabled behind the admin API’s back give no code: the login page instead', async () => {
    const { b, id } = await signedIn()
    await t.db.sql('UPDATE users SET is_active = false WHERE id = $1', [id])
    const page = await b.visit(authorize())
    expect(page.external).toBeUndefined()
    expect(page.url).toContain('/auth/login?interaction=')
    expect(await t.db.sql('SELECT 1 FROM authorization_codes WHERE user_id = $1', [id])).toEqual([])
  })

  it('end on the idle timeout', async () => {
    const { b, id } = await signedIn()
    await t.db.sql("UPDATE sessions SET idle_expires_at = now() - interval '1 second' WHERE user_id = $1", [
      id,
    ])
    expect((await b.visit(authorize())).url).toContain('/auth/login?interaction=')
  })

  it('end on the absolute timeout, however active', async () => {
    const { b, id } = await signedIn()
    await t.db.sql("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1", [id])
    expect((await b.visit(authorize())).url).toContain('/auth/login?interaction=')
  })

  it('end when the user is disabled', async () => {
    const { b, id } = await signedIn()
    await tenant.admin('PATCH', `/api/v1/users/${id}`, { is_active: false })
    expect((await b.visit(authorize())).url).toContain('/auth/login?interaction=')
  })

  it('carry sid into the ID token', async () => {
    const { b, id } = await signedIn()
    const code = (await b.visit(authorize())).external!.searchParams.get('code')!
    const res = await redeem(code)
    const idToken = JSON.parse(
      Buffer.from((await jsonOf(res)).id_token.split('.')[1], 'base64url').toString(),
    )
    const [session] = await t.db.sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = $1', [id])
    expect(idToken.sid).toBe(session!.id)
  })
})

describe('the account page', () => {
  async function signInAlso(email: string, userAgent?: string): Promise<Browser> {
    const other = browser(userAgent)
    const page = await other.visit('/auth/login')
    await other.submit(formAction(page.body), { ...hiddenFields(page.body), email, password: PASSWORD })
    return other
  }

  it('lists the user’s sessions by device, this one first and marked, and ends another one', async () => {
    const { b, email } = await signedIn()
    const other = await signInAlso(email, CHROME_ANDROID)
    const account = await b.visit('/auth/account')
    expect(account.body).toContain(email)
    const cards = sessionCards(account.body)
    expect(cards).toHaveLength(2)
    expect(cards[0]).toContain(
      '<strong>Firefox 133 on macOS (desktop)</strong><span class="badge">This device</span>',
    )
    expect(cards[0]).not.toContain('<form')
    expect(cards[1]).toContain('<strong>Chrome 131 on Android 14 (mobile)</strong>')
    expect(cards[1]).toContain('from 10.3.0.')
    expect(cards[1]).toMatch(
      /Signed in <time datetime="[^"]+Z">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC<\/time> · last active <time [^>]+>just now<\/time>/,
    )
    // The button names what it ends, for a screen reader among several alike.
    expect(cards[1]).toMatch(
      /Sign out of this session<span class="visually-hidden"> on Chrome 131 on Android 14 \(mobile\), signed in [^<]+ UTC<\/span>/,
    )
    const ended = await b.submit(formAction(cards[1]!), hiddenFields(cards[1]!))
    expect(ended.body).toContain('That session is signed out.')
    expect(sessionCards(ended.body)).toHaveLength(1)
    expect((await other.visit('/auth/account')).url).toContain('/auth/login')
  })

  it('signs out of all other sessions at once, keeping this one', async () => {
    const { b, email } = await signedIn()
    const others = [await signInAlso(email), await signInAlso(email, CHROME_ANDROID)]
    const account = await b.visit('/auth/account')
    expect(sessionCards(account.body)).toHaveLength(3)
    const all = account.body.slice(
      account.body.lastIndexOf('<form', account.body.indexOf('Sign out of all other sessions')),
    )
    expect(all).toMatch(
      /^<form[^>]*>\s*<input[^>]*><input type="hidden" name="action" value="end-other-sessions">/,
    )
    const done = await b.submit(formAction(all), hiddenFields(all))
    expect(done.body).toContain('All your other sessions are signed out.')
    expect(sessionCards(done.body)).toHaveLength(1)
    expect(done.body).not.toContain('Sign out of all other sessions')
    for (const other of others) expect((await other.visit('/auth/account')).url).toContain('/auth/login')
    expect((await b.visit('/auth/account')).url).toContain('/auth/account')
  })

  it('revokes an application’s access, and its refresh tokens', async () => {
    const { b, id } = await signedIn()
    await t.db.sql(
      "INSERT INTO consents (organization_id, user_id, client_id, scope) SELECT organization_id, id, $2, '{openid}' FROM users WHERE id = $1",
      [id, app.client_id],
    )
    const account = await b.visit('/auth/account')
    expect(account.body).toContain(
      '<strong>Shop</strong> can:</p>\n<ul class="scopes"><li>Know who you are</li></ul>',
    )
    const revokeForm = account.body.slice(
      account.body.indexOf('<form', account.body.indexOf('Applications with access')),
    )
    expect(revokeForm).toContain('Remove access<span class="visually-hidden"> of Shop</span>')
    const done = await b.submit(formAction(revokeForm), hiddenFields(revokeForm))
    expect(done.body).toContain('Access removed.')
    expect(await t.db.sql('SELECT 1 FROM consents WHERE user_id = $1', [id])).toEqual([])
  })

  it('sends a visitor without a session to sign in', async () => {
    expect((await browser().visit('/auth/account')).url).toBe(`${tenant.issuer}/auth/login`)
  })
})

describe('DELETE /api/v1/users/:id/sessions', () => {
  it('ends every session of the user, audited', async () => {
    const { b, id } = await signedIn()
    const res = await tenant.admin('DELETE', `/api/v1/users/${id}/sessions`)
    expect(await jsonOf(res)).toEqual({ ended: 1 })
    expect((await b.visit(authorize())).url).toContain('/auth/login?interaction=')
    expect(
      await t.db.sql(
        "SELECT actor_type FROM audit_events WHERE action = 'session.ended' AND target_id = $1",
        [id],
      ),
    ).toEqual([{ actor_type: 'client' }])
  })
})

describe('RP-initiated logout', () => {
  async function idTokenOf(b: Browser): Promise<string> {
    const code = (await b.visit(authorize())).external!.searchParams.get('code')!
    const res = await redeem(code)
    return (await jsonOf(res)).id_token
  }

  it('ends the session named by id_token_hint and returns to the registered URI with state', async () => {
    const { b } = await signedIn()
    const hint = await idTokenOf(b)
    const done = await b.visit(
      `/oauth/logout?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent('https://rp.example.com/bye')}&state=s1`,
    )
    expect(done.external?.href).toBe('https://rp.example.com/bye?state=s1')
    expect(b.jar.has('zenoauth-session')).toBe(false)
    expect((await b.visit(authorize())).url).toContain('/auth/login?interaction=')
  })

  it('refuses an unregistered post_logout_redirect_uri with an error page', async () => {
    const { b } = await signedIn()
    const hint = await idTokenOf(b)
    const res = await b.get(
      `/oauth/logout?id_token_hint=${hint}&post_logout_redirect_uri=${encodeURIComponent('https://evil.example.com/')}`,
    )
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
  })

  it('asks for confirmation without a hint, and signs out once confirmed', async () => {
    const { b } = await signedIn()
    const ask = await b.visit('/oauth/logout')
    expect(ask.body).toContain('Sign out of acme?')
    const done = await b.submit(formAction(ask.body), hiddenFields(ask.body))
    expect(done.body).toContain('You are signed out')
    expect((await b.visit(authorize())).url).toContain('/auth/login?interaction=')
  })
})

describe('the reaper job', () => {
  it('removes expired sessions, codes, pending requests and counters', async () => {
    await signedIn()
    await t.db.sql("UPDATE sessions SET expires_at = now() - interval '2 days'")
    await t.db.sql("UPDATE rate_limit_counters SET window_start = now() - interval '2 days'")
    await reaperJob.run(t.runtime)
    expect(await t.db.sql("SELECT 1 FROM sessions WHERE expires_at < now() - interval '1 day'")).toEqual([])
    expect(
      await t.db.sql("SELECT 1 FROM rate_limit_counters WHERE window_start < now() - interval '1 day'"),
    ).toEqual([])
  })
})

describe('refresh tokens', () => {
  async function tokens(b: Browser, scope = 'openid offline_access') {
    const code = (await b.visit(authorize('', { scope }))).external!.searchParams.get('code')!
    const res = await redeem(code)
    return jsonOf(res)
  }
  const refresh = (token: string, extra: Record<string, string> = {}, client: AppJson = app) =>
    tenant.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: token, ...extra },
      { authorization: basic(client.client_id, client.client_secret) },
    )

  it('come only with offline_access (the default policy)', async () => {
    const { b } = await signedIn()
    expect(await tokens(b, 'openid')).not.toHaveProperty('refresh_token')
    expect(await tokens(b)).toHaveProperty('refresh_token')
  })

  it('rotate on every use; reuse of a rotated one revokes the family', async () => {
    const { b } = await signedIn()
    const first = (await tokens(b)).refresh_token
    const second = (await jsonOf(await refresh(first))).refresh_token
    const third = (await jsonOf(await refresh(second))).refresh_token
    expect(new Set([first, second, third]).size).toBe(3)
    const reuse = await refresh(first)
    expect(await jsonOf(reuse)).toEqual({
      error: 'invalid_grant',
      error_description: 'the refresh token was already used; its grant is revoked',
    })
    expect((await jsonOf(await refresh(third))).error).toBe('invalid_grant')
    expect(await t.db.sql("SELECT 1 FROM audit_events WHERE action = 'refresh_token.reused'")).toHaveLength(1)
  })

  it('used twice at once: one use rotates it, the other is a reuse that revokes the family', async () => {
    const { b } = await signedIn()
    const rt = (await tokens(b)).refresh_token
    // The first use's batch waits on the token's row while it is locked; the second use waits
    // for the next batch (the same token never goes twice in one; two processes would meet on
    // the row: test/shared/db/batch.test.ts). Then they run one after the other.
    const lock = await holdRowLock(t.db, 'refresh_tokens', digestOf(rt), 'token_digest')
    const both = Promise.all([refresh(rt), refresh(rt)])
    await lock.waiters(1)
    const rotations = () => t.runtime.db.batchStats().find((b) => b.statement === 'refresh_token_rotation')
    for (let i = 0; i < 500 && rotations()?.waiting !== 1; i++) await new Promise((r) => setTimeout(r, 10))
    expect(rotations()?.waiting).toBe(1)
    await lock.release()
    const answers = await Promise.all((await both).map((r) => jsonOf(r)))
    const rotated = answers.find((a) => a.refresh_token)
    expect(answers.filter((a) => a.refresh_token)).toHaveLength(1)
    expect(answers).toContainEqual({
      error: 'invalid_grant',
      error_description: 'the refresh token was already used; its grant is revoked',
    })
    // The successor the first use stored went with the family.
    expect((await jsonOf(await refresh(rotated!.refresh_token))).error).toBe('invalid_grant')
  })

  it('of a user disabled behind the admin API’s back are refused, and their grant revoked', async () => {
    const { b, id } = await signedIn()
    const rt = (await tokens(b)).refresh_token
    // Directly in the database: the admin API would have revoked the grant itself.
    await t.db.sql('UPDATE users SET is_active = false WHERE id = $1', [id])
    expect(await jsonOf(await refresh(rt))).toEqual({
      error: 'invalid_grant',
      error_description: 'the user is no longer active',
    })
    const [family] = await t.db.sql<{ revoked_reason: string }>(
      `SELECT f.revoked_reason FROM refresh_tokens r JOIN refresh_token_families f ON f.id = r.family_id
        WHERE r.token_digest = $1`,
      [digestOf(rt)],
    )
    expect(family).toEqual({ revoked_reason: 'user inactive' })
    await t.db.sql('UPDATE users SET is_active = true WHERE id = $1', [id])
    expect((await jsonOf(await refresh(rt))).error).toBe('invalid_grant')
  })

  it('narrow the scope on request, never widen it, and stay usable after a refused request', async () => {
    const { b } = await signedIn()
    const rt = (await tokens(b)).refresh_token
    const wider = await refresh(rt, { scope: 'openid offline_access profile' })
    expect((await jsonOf(wider)).error).toBe('invalid_scope')
    const narrower = await jsonOf(await refresh(rt, { scope: 'openid' }))
    expect(narrower.scope).toBe('openid')
  })

  it('narrow the resources on request, never widen them, and stay usable after a refused request', async () => {
    const apis = await tenant.createApplication({
      name: 'APIs',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid', 'offline_access'],
      allowed_audiences: ['https://a.example.com', 'https://b.example.com', 'https://c.example.com'],
      first_party: true,
    })
    const { b } = await signedIn()
    const resources = ['https://a.example.com', 'https://b.example.com']
      .map((r) => `&resource=${encodeURIComponent(r)}`)
      .join('')
    const url = authorize(resources, { client: apis, scope: 'openid offline_access' })
    const code = (await b.visit(url)).external!.searchParams.get('code')!
    const first = await jsonOf(await redeem(code, apis))
    const wider = await refresh(first.refresh_token, { resource: 'https://c.example.com' }, apis)
    expect(await jsonOf(wider)).toEqual({
      error: 'invalid_target',
      error_description: 'resource was not part of the original grant',
    })
    const narrower = await jsonOf(
      await refresh(first.refresh_token, { resource: 'https://b.example.com' }, apis),
    )
    const { payload } = await tenant.verify(narrower.access_token, 'at+jwt')
    expect([payload.aud].flat()).toEqual(['https://b.example.com'])
    expect(narrower.refresh_token).toBeTruthy()
  })

  it('expire when idle, and are bound to their client', async () => {
    const { b } = await signedIn()
    const rt = (await tokens(b)).refresh_token
    const other = await tenant.createApplication({
      name: 'Other',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
    })
    const stolen = await tenant.post(
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: rt },
      { authorization: basic(other.client_id, other.client_secret) },
    )
    expect((await jsonOf(stolen)).error).toBe('invalid_grant')
    await t.db.sql(
      "UPDATE refresh_tokens SET idle_expires_at = now() - interval '1 second' WHERE consumed_at IS NULL",
    )
    expect((await jsonOf(await refresh(rt))).error).toBe('invalid_grant')
  })

  it('are refused after 60 uses a minute of one family (429)', async () => {
    const { b } = await signedIn()
    let rt = (await tokens(b)).refresh_token
    let last: Response | undefined
    for (let i = 0; i < 61; i++) {
      last = await refresh(rt)
      if (last.status !== 200) break
      rt = (await jsonOf(last)).refresh_token
    }
    expect(last!.status).toBe(429)
    expect(last!.headers.get('retry-after')).toBeTruthy()
    // The refused request consumed nothing: the token still works after the window.
    await t.db.sql(
      "UPDATE rate_limit_counters SET window_start = now() - interval '2 minutes' WHERE key LIKE 'refresh:%'",
    )
    expect((await refresh(rt)).status).toBe(200)
  })

  const asClient = (path: string, token: string, client: AppJson = app) =>
    tenant.post(path, { token }, { authorization: basic(client.client_id, client.client_secret) })
  const introspect = async (token: string, client: AppJson = app) =>
    jsonOf(await asClient('/oauth/introspect', token, client))
  const revokedEvents = () =>
    t.db.sql<{ details: unknown }>("SELECT details FROM audit_events WHERE action = 'refresh_token.revoked'")

  it('are revoked at /oauth/revoke with their family and the access tokens of the grant', async () => {
    const { b, id } = await signedIn()
    const first = await tokens(b)
    const second = await jsonOf(await refresh(first.refresh_token))
    const before = (await revokedEvents()).length
    const res = await asClient('/oauth/revoke', second.refresh_token)
    expect(res.status).toBe(200)
    // RFC 7009 §2.1: the refresh token, its family, and the access tokens issued with it.
    expect(await jsonOf(await refresh(second.refresh_token))).toMatchObject({ error: 'invalid_grant' })
    expect(await introspect(first.access_token)).toEqual({ active: false })
    expect(await introspect(second.access_token)).toEqual({ active: false })
    const events = await revokedEvents()
    expect(events.slice(before).map((e) => e.details)).toEqual([{ user_id: id, revoked_access_tokens: 2 }])
    // Once revoked, a second request changes nothing and writes no second event.
    expect((await asClient('/oauth/revoke', second.refresh_token)).status).toBe(200)
    expect(await revokedEvents()).toHaveLength(events.length)
  })

  it('are revoked by their own client only', async () => {
    const other = await tenant.createApplication({
      name: 'Other revoker',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
    })
    const { b } = await signedIn()
    const issued = await tokens(b)
    const res = await asClient('/oauth/revoke', issued.refresh_token, other)
    expect(res.status).toBe(400)
    expect(await jsonOf(res)).toEqual({
      error: 'unauthorized_client',
      error_description: 'the token was not issued to this client',
    })
    expect((await introspect(issued.access_token)).active).toBe(true)
    expect((await refresh(issued.refresh_token)).status).toBe(200)
  })

  it('introspect as active to their own client only, and inactive once rotated', async () => {
    const other = await tenant.createApplication({
      name: 'Other introspector',
      type: 'service',
      allowed_scopes: ['orders:read'],
    })
    const { b, id } = await signedIn()
    const issued = await tokens(b)
    const seen = await introspect(issued.refresh_token)
    expect(seen).toEqual({
      active: true,
      client_id: app.client_id,
      sub: id,
      iss: tenant.issuer,
      scope: 'openid offline_access',
      iat: expect.any(Number),
      exp: expect.any(Number),
      auth_time: expect.any(Number),
      sid: expect.any(String),
    })
    // The idle lifetime (14 days by default) within the absolute one (30 days).
    expect(seen.exp - seen.iat).toBe(14 * 24 * 3600)
    expect(await introspect(issued.refresh_token, other)).toEqual({ active: false })
    await refresh(issued.refresh_token)
    expect(await introspect(issued.refresh_token)).toEqual({ active: false })
  })

  it('revoke the access tokens of their family when a rotated one is replayed', async () => {
    const { b } = await signedIn()
    const first = await tokens(b)
    const second = await jsonOf(await refresh(first.refresh_token))
    expect((await introspect(second.access_token)).active).toBe(true)
    expect((await jsonOf(await refresh(first.refresh_token))).error).toBe('invalid_grant')
    expect(await introspect(first.access_token)).toEqual({ active: false })
    expect(await introspect(second.access_token)).toEqual({ active: false })
  })

  it('take the access tokens of their grant along when consent is revoked, the password reset or the user deleted', async () => {
    const { b, id } = await signedIn()
    const before = await tokens(b)
    await t.db.sql(
      "INSERT INTO consents (organization_id, user_id, client_id, scope) SELECT organization_id, id, $2, '{openid}' FROM users WHERE id = $1",
      [id, app.client_id],
    )
    expect((await tenant.admin('DELETE', `/api/v1/users/${id}/consents/${app.client_id}`)).status).toBe(204)
    expect(await introspect(before.access_token)).toEqual({ active: false })
    expect((await jsonOf(await refresh(before.refresh_token))).error).toBe('invalid_grant')

    const { b: again, id: other } = await signedIn()
    const issued = await tokens(again)
    const reset = await tenant.admin('PUT', `/api/v1/users/${other}/password`, {
      password: 'a new long passphrase',
    })
    expect(reset.status).toBe(204)
    expect(await introspect(issued.access_token)).toEqual({ active: false })

    const { b: third, id: deleted } = await signedIn()
    const last = await tokens(third)
    expect((await tenant.admin('DELETE', `/api/v1/users/${deleted}`)).status).toBe(204)
    expect(await introspect(last.access_token)).toEqual({ active: false })
  })

  it('stop working when their user is disabled, and stay dead once re-enabled', async () => {
    const { b, id } = await signedIn()
    const rt = (await tokens(b)).refresh_token
    await tenant.admin('PATCH', `/api/v1/users/${id}`, { is_active: false })
    const refused = await jsonOf(await refresh(rt))
    expect(refused.error).toBe('invalid_grant')
    await tenant.admin('PATCH', `/api/v1/users/${id}`, { is_active: true })
    expect((await jsonOf(await refresh(rt))).error).toBe('invalid_grant')
  })

  it('without offline_access, still end with their grant: logout, consent revoked, user disabled', async () => {
    const other = await tenant.createApplication({
      name: 'Blog',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid'],
      first_party: true,
    })
    /** An access token (no refresh token) of `client` for the browser's session. */
    const accessOnly = async (b: Browser, client: AppJson = app) => {
      const code = (await b.visit(authorize('', { client }))).external!.searchParams.get('code')!
      const issued = await jsonOf(await redeem(code, client))
      expect(issued).not.toHaveProperty('refresh_token')
      return issued as { access_token: string; id_token: string }
    }
    const active = async (token: string) => (await introspect(token)).active

    // RP-initiated logout ends one session: its tokens go, another session's stay.
    const { b, email, id } = await signedIn()
    const second = browser()
    const page = await second.visit('/auth/login')
    await second.submit(formAction(page.body), { ...hiddenFields(page.body), email, password: PASSWORD })
    const ending = await accessOnly(b)
    const staying = await accessOnly(second)
    expect(await active(ending.access_token)).toBe(true)
    await b.visit(`/oauth/logout?id_token_hint=${ending.id_token}`)
    expect(await introspect(ending.access_token)).toEqual({ active: false })
    expect(await active(staying.access_token)).toBe(true)

    // A revoked consent takes that application's tokens, not another's. (First-party
    // applications ask for none; the consent is recorded here as if they had.)
    const blog = await accessOnly(second, other)
    await t.db.sql(
      "INSERT INTO consents (organization_id, user_id, client_id, scope) SELECT organization_id, id, $2, '{openid}' FROM users WHERE id = $1",
      [id, app.client_id],
    )
    expect((await tenant.admin('DELETE', `/api/v1/users/${id}/consents/${app.client_id}`)).status).toBe(204)
    expect(await active(staying.access_token)).toBe(false)
    expect(await active(blog.access_token)).toBe(true)

    // Disabling the user takes the rest.
    expect((await tenant.admin('PATCH', `/api/v1/users/${id}`, { is_active: false })).status).toBe(200)
    expect(await active(blog.access_token)).toBe(false)
  })

  it('follow the organization’s refresh_per_family_per_minute setting', async () => {
    const settings = (value: number | null) =>
      tenant.admin('PATCH', '/api/v1/organization', { settings: { refresh_per_family_per_minute: value } })
    expect((await settings(2)).status).toBe(200)
    try {
      const { b } = await signedIn()
      let rt = (await tokens(b)).refresh_token
      /** The statuses of `n` refreshes in a row, each with the newest token. */
      const refreshes = async (n: number) => {
        const statuses: number[] = []
        for (let i = 0; i < n; i++) {
          const res = await refresh(rt)
          statuses.push(res.status)
          if (res.status === 200) rt = (await jsonOf(res)).refresh_token
        }
        return statuses
      }
      expect(await refreshes(3)).toEqual([200, 200, 429])
      const limited = await refresh(rt)
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
      // A refused refresh rolls back its consume and its count: the token still works once the
      // limit allows it, and the refusals did not use up the new allowance.
      expect((await settings(4)).status).toBe(200)
      const after = await refreshes(3)
      expect(after).toEqual([200, 200, 429])
    } finally {
      expect((await settings(null)).status).toBe(200)
    }
  })
})

describe('UserInfo', () => {
  it('answers the claims of the scopes, with the ID token’s sub', async () => {
    const { b, email, id } = await signedIn()
    await tenant.admin('PATCH', `/api/v1/users/${id}`, {
      name: 'Bob',
      phone_number: '+15551234567',
      address: { locality: 'Paris', country: 'FR' },
    })
    const profileApp = await tenant.createApplication({
      name: 'Profile',
      type: 'confidential',
      redirect_uris: [REDIRECT],
      allowed_scopes: ['openid', 'profile', 'email', 'address', 'phone'],
      first_party: true,
    })
    const code = (
      await b.visit(authorize('', { client: profileApp, scope: 'openid email address phone' }))
    ).external!.searchParams.get('code')!
    const tokens = await jsonOf(await redeem(code, profileApp))
    const get = await t.app.request('/oauth/userinfo', {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    })
    expect(get.headers.get('cache-control')).toBe('no-store')
    expect(await jsonOf(get)).toEqual({
      sub: id,
      email,
      email_verified: false,
      address: { locality: 'Paris', country: 'FR' },
      phone_number: '+15551234567',
      phone_number_verified: false,
    })
    const post = await t.app.request('/oauth/userinfo', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `access_token=${tokens.access_token}`,
    })
    expect((await jsonOf(post)).sub).toBe(id)
  })

  it('refuses a token sent two ways, a missing one, and one without openid', async () => {
    const both = await t.app.request('/oauth/userinfo', {
      method: 'POST',
      headers: { authorization: 'Bearer a', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'access_token=a',
    })
    expect(both.status).toBe(400)
    const none = await t.app.request('/oauth/userinfo')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toContain('Bearer error="invalid_token"')
    const service = await tenant.createApplication({ name: 'svc', type: 'service' })
    const cc = await jsonOf(
      await tenant.post(
        '/oauth/token',
        { grant_type: 'client_credentials' },
        { authorization: basic(service.client_id, service.client_secret) },
      ),
    )
    const res = await t.app.request('/oauth/userinfo', {
      headers: { authorization: `Bearer ${cc.access_token}` },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('www-authenticate')).toContain('error="insufficient_scope"')
  })
})

describe('the login page in a flow', () => {
  it('names the application and pre-fills login_hint', async () => {
    const b = browser()
    const page = await b.visit(`${authorize()}&login_hint=${encodeURIComponent('hint@acme.test')}`)
    expect(page.body).toContain('to continue to <strong>Shop</strong>')
    expect(page.body).toContain('value="hint@acme.test"')
    const done = await signIn(b, page, 'nobody@acme.test', 'wrong password!!')
    expect(done.res.status).toBe(401)
  })
})
