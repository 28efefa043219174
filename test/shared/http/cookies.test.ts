/**
 * The session cookie is read from the Cookie header Node has parsed (not through an undici
 * Headers object): among other cookies, split over repeated Cookie lines (which Node joins
 * with "; ", RFC 6265 §5.4), or beside a look-alike name, it is found exactly as hono/cookie
 * finds it in process.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { Browser, formAction, hiddenFields } from '../../support/browser.ts'
import { overNode } from '../../support/http.ts'
import { type AppJson, createTenant, type Tenant } from '../../support/oauth.ts'
import { createServedRuntime, type TestRuntime } from '../../support/runtime.ts'

const REDIRECT = 'https://rp.example.com/cb'
const PASSWORD = 'correct horse battery staple'
let t: TestRuntime
let tenant: Tenant
let app: AppJson
let port: number
let session: [name: string, value: string]

beforeAll(async () => {
  t = await createServedRuntime()
  port = t.config.port
  tenant = await createTenant(t, 'acme')
  app = await tenant.createApplication({
    name: 'Shop',
    type: 'confidential',
    redirect_uris: [REDIRECT],
    allowed_scopes: ['openid'],
    first_party: true,
  })
  const email = 'cookie-user@acme.test'
  expect((await tenant.admin('POST', '/api/v1/users', { email, password: PASSWORD })).status).toBe(201)
  const b = new Browser(async (url, init) => t.app.request(url, init), t.config.publicUrl)
  const page = await b.visit('/auth/login')
  await b.submit(formAction(page.body), { ...hiddenFields(page.body), email, password: PASSWORD })
  const entry = [...b.jar].find(([name]) => name.endsWith('zenoauth-session'))
  expect(entry).toBeDefined()
  session = entry!
})

const AUTHORIZE = () =>
  `/oauth/authorize?client_id=${app.client_id}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`

/** Where an authorization request with these Cookie lines, over Node, sends the browser. */
async function landing(cookie: string | string[]): Promise<URL> {
  const answer = await overNode(port, 'GET', AUTHORIZE(), { host: tenant.host, cookie })
  expect(answer.status).toBe(303)
  return new URL(answer.headers.get('location')![0]!, `http://${tenant.host}`)
}

describe('the session cookie over Node', () => {
  it('is found among other cookies', async () => {
    const [name, value] = session
    const to = await landing(`theme=dark; x${name}=bogus; ${name}=${value}; lang="en"`)
    expect(to.origin + to.pathname).toBe(REDIRECT)
    expect(to.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('is found on a second Cookie line', async () => {
    const [name, value] = session
    const to = await landing(['theme=dark', `${name}=${value}`])
    expect(to.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('counts only under its exact name: a look-alike or a changed value signs no one in', async () => {
    const [name, value] = session
    const codes = async () =>
      (await t.db.sql<{ n: number }>('SELECT count(*)::int AS n FROM authorization_codes'))[0]!.n
    const before = await codes()
    for (const cookie of [`x${name}=${value}`, `${name.toUpperCase()}=${value}`, `${name}=${value}x`]) {
      const to = await landing(cookie)
      expect(to.pathname).toBe('/auth/login')
    }
    expect(await codes()).toBe(before)
  })

  it('is read the same in process', async () => {
    const [name, value] = session
    const res = await t.app.request(AUTHORIZE(), {
      headers: { host: tenant.host, cookie: `theme=dark; x${name}=bogus; ${name}=${value}` },
    })
    expect(res.status).toBe(303)
    expect(new URL(res.headers.get('location')!).searchParams.get('code')).toBeTruthy()
  })
})
