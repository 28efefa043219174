/** CORS on the endpoints browser apps call directly, and nowhere else. */
import { beforeAll, describe, expect, it } from 'vitest'
import { jsonOf } from '../support/http.ts'
import { basic, createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

const ORIGIN = 'https://spa.example.com'
let t: TestRuntime
let tenant: Tenant

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
})

const preflight = (app: TestRuntime['app'], path: string) =>
  app.request(path, {
    method: 'OPTIONS',
    headers: {
      origin: ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
    },
  })

describe('CORS', () => {
  it.each(['/oauth/token', '/oauth/userinfo', '/oauth/revoke', '/oauth/par', '/.well-known/jwks.json'])(
    'answers the preflight of %s without running it',
    async (path) => {
      const res = await preflight(t.app, path)
      expect(res.status).toBe(204)
      expect(res.headers.get('access-control-allow-origin')).toBe('*')
      expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST')
      expect(res.headers.get('access-control-allow-headers')).toContain('authorization')
      expect(res.headers.get('access-control-allow-credentials')).toBeNull()
      expect(res.headers.get('access-control-max-age')).toBe('600')
      expect(await res.text()).toBe('')
    },
  )

  it('lets a page read the token response and the error details', async () => {
    const { admin_client: c } = tenant.bootstrap
    const ok = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { origin: ORIGIN, authorization: basic(c.client_id, c.client_secret) },
    )
    expect(ok.status).toBe(200)
    expect(ok.headers.get('access-control-allow-origin')).toBe('*')
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect((await jsonOf(ok)).access_token).toBeTruthy()
    const refused = await tenant.post(
      '/oauth/token',
      { grant_type: 'client_credentials' },
      { origin: ORIGIN, authorization: basic(c.client_id, 'wrong') },
    )
    expect(refused.status).toBe(401)
    expect(refused.headers.get('access-control-allow-origin')).toBe('*')
    expect(refused.headers.get('access-control-expose-headers')).toContain('www-authenticate')
    expect(refused.headers.get('x-request-id')).toBeTruthy()
  })

  it('is not offered where browsers have no business: introspection, the admin API, the pages', async () => {
    for (const path of ['/oauth/introspect', '/api/v1/applications', '/auth/login']) {
      const res = await preflight(t.app, path)
      expect(res.headers.get('access-control-allow-origin')).toBeNull()
    }
  })

  it('is not mounted on a process without the auth plane', async () => {
    const admin = await createTestRuntime({ db: t.db, env: { PLANES: 'admin' } })
    const res = await preflight(admin.app, '/oauth/token')
    expect(res.status).toBe(404)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })
})
