/**
 * Every page a person sees, in Debian's Chromium at a desktop (1,280 px) and a phone (390 px)
 * width: nothing scrolls sideways, every input has a label, and the primary action stands out.
 * Screenshots go to test-results/pages/ (not committed) for a reviewer to look at.
 */
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chromiumAvailable, launchChromium } from '../support/chromium.ts'
import { type AppJson, createTenant, type Tenant } from '../support/oauth.ts'
import { createServedRuntime, type TestRuntime } from '../support/runtime.ts'

const SHOTS = path.resolve(import.meta.dirname, '../../test-results/pages')
const WIDTHS = [1280, 390] as const
const PASSWORD = 'correct horse battery staple'
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'

describe.runIf(chromiumAvailable('the page layout test in Chromium'))(
  'every page, at 1,280 and 390 px',
  () => {
    let t: TestRuntime
    let tenant: Tenant
    let app: AppJson
    let browser: Browser
    const rpUrl = 'https://shop.example.test/callback'
    const seen: string[] = []

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true })
      t = await createServedRuntime()
      tenant = await createTenant(t, 'acme')
      await tenant.admin('PATCH', '/api/v1/organization', { name: 'Acme Corporation' })
      app = await tenant.createApplication({
        name: 'Northwind Traders Customer Portal (Production, EU West)',
        type: 'confidential',
        redirect_uris: [rpUrl],
        allowed_scopes: ['openid', 'profile', 'email', 'offline_access'],
      })
      await tenant.admin('POST', '/api/v1/users', {
        email: 'alexandra.konstantinopoulou@acme-corporation.example',
        password: PASSWORD,
      })
      browser = await launchChromium()
    }, 60_000)

    afterAll(async () => {
      await browser?.close()
    })

    const authorizeUrl = () =>
      `${t.config.publicUrl}/oauth/authorize?client_id=${app.client_id}&redirect_uri=${encodeURIComponent(rpUrl)}&response_type=code&scope=${encodeURIComponent('openid profile email offline_access')}&state=st&code_challenge=${CHALLENGE}&code_challenge_method=S256`

    /**
     * At each width: no horizontal overflow, a label for every input, and a screenshot.
     * Returns the page's h1, for the caller to check it is the page it meant.
     */
    async function check(page: Page, name: string): Promise<string> {
      for (const width of WIDTHS) {
        await page.setViewportSize({ width, height: 800 })
        // In the page (a string: the project's types have no DOM).
        const layout = await page.evaluate(`({
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        outside: [...document.querySelectorAll('main *')]
          .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
          .map((el) => el.outerHTML.slice(0, 80)),
        unlabelled: [...document.querySelectorAll('input:not([type=hidden])')]
          .filter((el) => el.labels.length === 0)
          .map((el) => el.outerHTML),
      })`)
        expect(layout, `${name} at ${width} px`).toEqual({
          scrollWidth: width,
          innerWidth: width,
          outside: [],
          unlabelled: [],
        })
        await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true })
      }
      seen.push(name)
      return (await page.locator('h1').textContent()) ?? ''
    }

    async function newContext(userAgent?: string): Promise<BrowserContext> {
      return browser.newContext(userAgent ? { userAgent } : {})
    }

    it('sign-in, its error, consent, the account page, sign-out and an error page fit both widths', async () => {
      const context = await newContext()
      const page = await context.newPage()
      await page.goto(authorizeUrl())
      expect(await check(page, 'sign-in')).toBe('Sign in to Acme Corporation')

      await page.getByLabel('Email').fill('alexandra.konstantinopoulou@acme-corporation.example')
      await page.getByLabel('Password').fill('not the password')
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.getByRole('alert').waitFor()
      expect(await check(page, 'sign-in-error')).toBe('Sign in to Acme Corporation')

      await page.getByLabel('Password').fill(PASSWORD)
      await page.getByRole('button', { name: 'Sign in' }).click()
      await page.waitForURL(/\/auth\/consent\?interaction=/)
      expect(await check(page, 'consent')).toBe(
        'Northwind Traders Customer Portal (Production, EU West) wants to access your account',
      )
      // Allow is the primary action: it does not look like Deny.
      const look = (name: string) =>
        page.getByRole('button', { name, exact: true }).evaluate((el) => String(el.className))
      expect([await look('Allow'), await look('Deny')]).toEqual(['primary', ''])
      const background = (name: string) =>
        page.evaluate(
          `getComputedStyle([...document.querySelectorAll('button')].find((b) => b.textContent === '${name}')).backgroundColor`,
        )
      expect(await background('Allow')).not.toBe(await background('Deny'))

      // A second device of the same person, so the account page lists two sessions.
      const phone = await newContext(IPHONE)
      const phonePage = await phone.newPage()
      await phonePage.goto(`${t.config.publicUrl}/auth/login`)
      await phonePage.getByLabel('Email').fill('alexandra.konstantinopoulou@acme-corporation.example')
      await phonePage.getByLabel('Password').fill(PASSWORD)
      await phonePage.getByRole('button', { name: 'Sign in' }).click()
      await phonePage.waitForURL(/\/auth\/account/)

      // Allow: the browser goes on to the relying party, played by a route of the browser's own
      // (a real navigation to a host that does not resolve races the next goto).
      await context.route(`${rpUrl}**`, (route) =>
        route.fulfill({ contentType: 'text/html', body: '<title>RP</title><h1>Signed in at the RP</h1>' }),
      )
      await page.getByRole('button', { name: 'Allow' }).click()
      await page.waitForURL((url) => url.href.startsWith(rpUrl))
      await page.goto(`${t.config.publicUrl}/auth/account`)
      expect(await check(page, 'account')).toBe('Your account')
      expect(await page.getByText('Safari 18 on iOS 18 (mobile)', { exact: true }).isVisible()).toBe(true)
      expect(await page.getByText('This device').isVisible()).toBe(true)
      expect(await page.getByText('Keep access while you are not signed in').isVisible()).toBe(true)
      expect(
        await page.getByRole('button', { name: /^Sign out of this session on Safari 18 on iOS 18/ }).count(),
      ).toBe(1)

      await page.goto(`${t.config.publicUrl}/oauth/logout`)
      expect(await check(page, 'sign-out-confirm')).toBe('Sign out of Acme Corporation?')
      await page.getByRole('button', { name: 'Sign out' }).click()
      await page.getByText('You have signed out of Acme Corporation.').waitFor()
      expect(await check(page, 'signed-out')).toBe('You are signed out')

      await page.goto(`${t.config.publicUrl}/oauth/authorize?client_id=nobody&response_type=code`)
      expect(await check(page, 'error')).not.toBe('')
      await context.close()
      await phone.close()
      expect(seen).toEqual([
        'sign-in',
        'sign-in-error',
        'consent',
        'account',
        'sign-out-confirm',
        'signed-out',
        'error',
      ])
    }, 60_000)
  },
)
