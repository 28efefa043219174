import { hash } from '@node-rs/argon2'
import { beforeAll, describe, expect, it } from 'vitest'
import { needsRehash } from '../../shared/crypto/password.ts'
import { dummyPasswordHash } from '../../shared/oidc/login.ts'
import { Browser, formAction, hiddenFields } from '../support/browser.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

const PASSWORD = 'correct horse battery staple'
let t: TestRuntime
let tenant: Tenant
let clients = 0
let users = 0

beforeAll(async () => {
  t = await createTestRuntime({ env: { TRUST_PROXY_HOPS: '1' } })
  tenant = await createTenant(t, 'acme')
})

const browser = (ip = `10.1.0.${++clients}`) =>
  new Browser(async (url, init) => t.app.request(url, init), t.config.publicUrl, { 'x-forwarded-for': ip })

async function newUser(extra: Record<string, unknown> = {}): Promise<{ email: string; id: string }> {
  const email = `user${++users}@acme.test`
  const res = await tenant.admin('POST', '/api/v1/users', { email, password: PASSWORD, ...extra })
  expect(res.status).toBe(201)
  return { email, id: ((await res.json()) as { id: string }).id }
}

/** Submits the login page once; returns the response (not followed). */
async function attempt(b: Browser, email: string, password: string): Promise<Response> {
  const page = await b.visit('/auth/login')
  return b.post(formAction(page.body), { ...hiddenFields(page.body), email, password })
}

describe('GET /auth/login', () => {
  it('is an accessible form that works without JavaScript, not cacheable, not frameable', async () => {
    const res = await browser().get('/auth/login')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toMatch(
      /^default-src 'none'; style-src 'sha256-[^']+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
    )
    const page = await res.text()
    expect(page).toContain('<html lang="en">')
    expect(page).toContain('<label for="email">Email</label>')
    expect(page).toContain('autocomplete="username"')
    expect(page).toContain('<label for="password">Password</label>')
    expect(page).toContain('autocomplete="current-password"')
    expect(page).not.toContain('<script')
  })
})

describe('POST /auth/login', () => {
  it('starts a session: HttpOnly, SameSite=Lax, Path=/, no Secure on plain-http localhost; audited', async () => {
    const { email, id } = await newUser()
    const res = await attempt(browser(), email, PASSWORD)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe(`${tenant.issuer}/auth/account`)
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('zenoauth-session='))!
    expect(cookie).toMatch(/^zenoauth-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/)
    const audit = await t.db.sql("SELECT actor_id, result FROM audit_events WHERE action = 'user.login'")
    expect(audit).toContainEqual({ actor_id: id, result: 'success' })
  })

  it('stores only the digest of the session cookie', async () => {
    const { email } = await newUser()
    const res = await attempt(browser(), email, PASSWORD)
    const value = res.headers
      .getSetCookie()
      .find((c) => c.startsWith('zenoauth-session='))!
      .split(/[=;]/)[1]!
    const rows = await t.db.sql('SELECT 1 FROM sessions WHERE token_digest = sha256(convert_to($1, $2))', [
      value,
      'UTF8',
    ])
    expect(rows).toHaveLength(1)
    expect(
      await t.db.sql("SELECT 1 FROM sessions WHERE encode(token_digest, 'escape') LIKE $1", [`%${value}%`]),
    ).toHaveLength(0)
  })

  it('answers an unknown email, a wrong password and a disabled account alike', async () => {
    const { email } = await newUser()
    const disabled = await newUser({ is_active: false })
    const answers = []
    for (const [e, p] of [
      [email, 'wrong password!!'],
      ['nobody@acme.test', PASSWORD],
      [disabled.email, PASSWORD],
    ] as const) {
      const res = await attempt(browser(), e, p)
      const page = await res.text()
      answers.push({
        status: res.status,
        error: /<p class="error" role="alert" id="login-error">([^<]+)<\/p>/.exec(page)?.[1],
      })
    }
    expect(answers).toEqual([
      { status: 401, error: 'The email or password is not right.' },
      { status: 401, error: 'The email or password is not right.' },
      { status: 401, error: 'The email or password is not right.' },
    ])
  })

  it('does the same work for an unknown email as for a wrong password: one Argon2id verification each, same parameters', async () => {
    // Counted, not timed (a wall-clock ratio fails on a busy machine): the server's own metric.
    const verifications = async () => {
      const text = await (await t.app.request('/metrics')).text()
      return Number(/^zenoauth_password_hashes_total\{operation="verify"\} (\d+)$/m.exec(text)?.[1])
    }
    const { email } = await newUser()
    const attempt = async (e: string) => {
      const b = browser()
      const page = await b.visit('/auth/login')
      const before = await verifications()
      const res = await b.post(formAction(page.body), {
        ...hiddenFields(page.body),
        email: e,
        password: 'not the password',
      })
      expect(res.status).toBe(401)
      return (await verifications()) - before
    }
    // The first unknown email makes the dummy hash the others verify against.
    await attempt('ghost-first@acme.test')
    expect(await attempt(email)).toBe(1)
    expect(await attempt('ghost@acme.test')).toBe(1)
    expect(await attempt('GHOST2@acme.test')).toBe(1)
    // The dummy costs what a real hash costs: it was made with the same parameters.
    const [row] = await t.db.sql<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE email = $1',
      [email],
    )
    expect(await needsRehash(row!.password_hash)).toBe(false)
    expect(await needsRehash(await dummyPasswordHash())).toBe(false)
  })

  it('refuses a form without the CSRF token, or from another origin', async () => {
    const { email } = await newUser()
    const b = browser()
    const page = await b.visit('/auth/login')
    const fields = hiddenFields(page.body)
    const forged = await b.post('/auth/login', { email, password: PASSWORD })
    expect(forged.status).toBe(403)
    const crossSite = await b.post(
      '/auth/login',
      { ...fields, email, password: PASSWORD },
      { origin: 'https://evil.example.com' },
    )
    expect(crossSite.status).toBe(403)
    expect(await crossSite.text()).toContain('submitted from another site')
  })

  it('limits attempts per IP: the 11th in a minute gets 429 with Retry-After', async () => {
    const ip = '10.9.9.9'
    const statuses: number[] = []
    let last: Response | undefined
    for (let i = 0; i < 11; i++) {
      last = await attempt(browser(ip), `someone${i}@acme.test`, 'wrong password!!')
      statuses.push(last.status)
    }
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true)
    expect(statuses[10]).toBe(429)
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0)
    // Sliding window: the 11 hits of this minute still weigh on the next one, so the wait
    // can run past the end of this minute, never past the end of the next.
    expect(Number(last!.headers.get('retry-after'))).toBeLessThanOrEqual(120)
    expect(await last!.text()).toContain('Too many attempts.')
  })

  it('limits attempts per account: the 31st in a minute gets 429, from any IP', async () => {
    const email = 'target@acme.test'
    const statuses: number[] = []
    for (let i = 0; i < 31; i++) statuses.push((await attempt(browser(), email, 'wrong password!!')).status)
    expect(statuses.at(-1)).toBe(429)
    // Refusals are high-volume: they go through the audit buffer.
    await t.runtime.audit.flush()
    const audit = await t.db.sql(
      "SELECT count(*)::int AS n FROM audit_events WHERE action = 'user.login_rate_limited'",
    )
    expect(audit[0]!.n).toBeGreaterThan(0)
  })

  it('follows the organization’s own limits, and refuses limits out of range', async () => {
    const settings = (value: unknown) =>
      tenant.admin('PATCH', '/api/v1/organization', {
        settings: { login_per_ip_per_minute: value, lockout_threshold: value },
      })
    const refused = await settings(0)
    expect(refused.status).toBe(400)
    expect(refused.headers.get('content-type')).toContain('application/problem+json')
    expect((await settings(2)).status).toBe(200)
    try {
      const ip = '10.9.9.10'
      const statuses: number[] = []
      for (let i = 0; i < 3; i++)
        statuses.push((await attempt(browser(ip), `limited${i}@acme.test`, 'wrong password!!')).status)
      expect(statuses).toEqual([401, 401, 429])
      // lockout_threshold 2: the second failure for one account locks it.
      const email = 'threshold@acme.test'
      expect((await attempt(browser(), email, 'wrong password!!')).status).toBe(401)
      expect((await attempt(browser(), email, 'wrong password!!')).status).toBe(401)
      expect((await attempt(browser(), email, 'wrong password!!')).status).toBe(429)
    } finally {
      expect((await settings(null)).status).toBe(200)
    }
  })

  it('locks out after repeated failures, progressively, even with the right password, and audits it', async () => {
    const { email } = await newUser()
    for (let i = 0; i < 5; i++) expect((await attempt(browser(), email, 'wrong password!!')).status).toBe(401)
    const locked = await attempt(browser(), email, PASSWORD)
    expect(locked.status).toBe(429)
    const first = Number(locked.headers.get('retry-after'))
    expect(first).toBeGreaterThan(0)
    expect(first).toBeLessThanOrEqual(30)
    // Once the lock has passed, the next failure locks for twice as long.
    await t.db.sql("UPDATE login_failures SET locked_until = now() - interval '1 second'")
    expect((await attempt(browser(), email, 'wrong password!!')).status).toBe(401)
    const second = Number((await attempt(browser(), email, PASSWORD)).headers.get('retry-after'))
    expect(second).toBeGreaterThan(30)
    expect(second).toBeLessThanOrEqual(60)
    const audit = await t.db.sql(
      "SELECT details FROM audit_events WHERE action = 'user.login_locked' ORDER BY occurred_at",
    )
    expect(audit.length).toBeGreaterThanOrEqual(2)
  })

  it('locks an unknown email the same way, so lockout reveals nothing', async () => {
    for (let i = 0; i < 5; i++) await attempt(browser(), 'ghost-locked@acme.test', 'wrong password!!')
    expect((await attempt(browser(), 'ghost-locked@acme.test', 'whatever password')).status).toBe(429)
  })

  it('rehashes a password made with older parameters when the user signs in', async () => {
    const { email, id } = await newUser()
    const weak = await hash(PASSWORD, { algorithm: 2, memoryCost: 4096, timeCost: 1, parallelism: 1 })
    await t.db.sql('UPDATE users SET password_hash = $1 WHERE id = $2', [weak, id])
    expect((await attempt(browser(), email, PASSWORD)).status).toBe(303)
    const [row] = await t.db.sql<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [
      id,
    ])
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=4\$/)
  })
})

describe('cookies on an https issuer', () => {
  it('use the __Host- prefix and Secure', async () => {
    const secure = await createTestRuntime({
      db: t.db,
      env: { PUBLIC_URL: 'https://localhost:8443', TRUST_PROXY_HOPS: '1' },
    })
    const b = new Browser(async (url, init) => secure.app.request(url, init), 'https://localhost:8443', {
      'x-forwarded-for': '10.2.0.1',
    })
    const res = await b.get('/auth/login')
    expect(res.headers.getSetCookie()[0]).toMatch(
      /^__Host-zenoauth-csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    )
  })
})
