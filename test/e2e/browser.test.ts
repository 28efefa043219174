/**
 * A person in Debian's Chromium (driven by playwright-core) signs in through the real login
 * page, consents, and the relying party receives the code.
 */
import { createServer, type Server } from 'node:http'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../../shared/db/embedded.ts'
import { type RunningServer, startServer } from '../../shared/http/server.ts'
import { chromiumAvailable, launchChromium } from '../support/chromium.ts'
import { jsonOf } from '../support/http.ts'
import { type AppJson, basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

const PASSWORD = 'correct horse battery staple'
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'

describe.runIf(chromiumAvailable('the sign-in flow in Chromium'))('in Chromium', () => {
  let t: TestRuntime
  let server: RunningServer
  let tenant: Tenant
  let app: AppJson
  let rp: Server
  let rpUrl: string
  let browser: Browser
  const received: { method: string; params: Record<string, string> }[] = []

  beforeAll(async () => {
    const port = await freePort()
    t = await createTestRuntime({
      env: { PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: `http://127.0.0.1:${port}` },
    })
    server = await startServer(t.runtime, t.app)
    tenant = await createTenant(t, 'acme')
    const rpPort = await freePort()
    rpUrl = `http://127.0.0.1:${rpPort}/callback`
    // The relying party: records what arrives at its redirect URI.
    rp = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += d
      })
      req.on('end', () => {
        const url = new URL(req.url!, rpUrl)
        const params = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams
        // Only the redirect URI counts: the browser also asks for /favicon.ico.
        if (url.pathname === '/callback')
          received.push({ method: req.method!, params: Object.fromEntries(params) })
        res
          .setHeader('content-type', 'text/html')
          .end('<!doctype html><title>RP</title><h1>Signed in at the RP</h1>')
      })
    })
    await new Promise<void>((r) => rp.listen(rpPort, '127.0.0.1', r))
    app = await tenant.createApplication({
      name: 'Demo Shop',
      type: 'confidential',
      redirect_uris: [rpUrl],
      allowed_scopes: ['openid', 'email'],
    })
    await tenant.admin('POST', '/api/v1/users', {
      email: 'alice@acme.test',
      password: PASSWORD,
      name: 'Alice',
    })
    browser = await launchChromium()
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    rp?.close()
    await server?.shutdown()
  })

  const authorizeUrl = (extra = '') =>
    `${t.config.publicUrl}/oauth/authorize?client_id=${app.client_id}&redirect_uri=${encodeURIComponent(rpUrl)}&response_type=code&scope=openid%20email&state=st&code_challenge=${CHALLENGE}&code_challenge_method=S256${extra}`

  /** A fresh browser context (no cookies) with its console errors collected. */
  async function newPage(): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext()
    const page = await context.newPage()
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    return { page, errors }
  }

  it('signs in through the page, consents, and the relying party gets the code', async () => {
    const { page, errors } = await newPage()
    await page.goto(authorizeUrl())
    await expect.poll(() => page.title()).toBe('Sign in — acme')
    expect(await page.getByText('to continue to Demo Shop').isVisible()).toBe(true)
    await page.getByLabel('Email').fill('alice@acme.test')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(/\/auth\/consent\?interaction=/)
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Demo Shop wants to access your account',
    )
    expect(await page.getByText('See your email address').isVisible()).toBe(true)
    await page.getByRole('button', { name: 'Allow' }).click()
    await page.waitForURL((url) => url.href.startsWith(rpUrl))
    expect(await page.getByRole('heading').textContent()).toBe('Signed in at the RP')

    const last = received.at(-1)!
    expect(last).toMatchObject({
      method: 'GET',
      params: { state: 'st', iss: t.config.publicUrl, code: expect.any(String) },
    })
    const tokens = await jsonOf(
      await fetch(`${t.config.publicUrl}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic(app.client_id, app.client_secret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: last.params.code!,
          redirect_uri: rpUrl,
          code_verifier: VERIFIER,
        }),
      }),
    )
    expect(tokens).toMatchObject({
      token_type: 'Bearer',
      scope: 'openid email',
      id_token: expect.any(String),
    })
    // The pages' Content-Security-Policy admitted everything they use.
    expect(errors).toEqual([])
  })

  it('shows a wrong password, announced to assistive technology', async () => {
    const { page } = await newPage()
    await page.goto(`${t.config.publicUrl}/auth/login`)
    await page.getByLabel('Email').fill('alice@acme.test')
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in' }).click()
    expect(await page.getByRole('alert').textContent()).toBe('The email or password is not right.')
    expect(await page.getByLabel('Email').inputValue()).toBe('alice@acme.test')
  })

  it('posts the response with form_post: the hashed script submits it under the CSP', async () => {
    const { page, errors } = await newPage()
    await page.goto(authorizeUrl('&response_mode=form_post'))
    await page.getByLabel('Email').fill('alice@acme.test')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    // Consent was given in the first test and is remembered: straight to the relying party.
    await page.waitForURL((url) => url.href.startsWith(rpUrl))
    expect(received.at(-1)).toMatchObject({
      method: 'POST',
      params: { state: 'st', iss: t.config.publicUrl, code: expect.any(String) },
    })
    expect(errors).toEqual([])
  })
})
