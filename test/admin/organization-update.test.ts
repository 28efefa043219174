import { beforeAll, describe, expect, it } from 'vitest'
import { jsonOf } from '../support/http.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
})

async function loginPageTitle(): Promise<string> {
  const res = await t.app.request('/auth/login', { headers: { host: tenant.host } })
  return /<h1>([^<]*)<\/h1>/.exec(await res.text())?.[1] ?? ''
}

describe('PATCH /api/v1/organization', () => {
  it('renames the organization, answers the whole organization, audits it, and every page shows the name', async () => {
    const res = await tenant.admin('PATCH', '/api/v1/organization', { name: '  Acme Corporation ' })
    expect(res.status).toBe(200)
    const org = await jsonOf(res)
    expect(org).toMatchObject({ slug: 'acme', name: 'Acme Corporation', is_default: true })
    expect(org.settings).toEqual(expect.any(Object))
    expect((await jsonOf(await tenant.admin('GET', '/api/v1/organization'))).name).toBe('Acme Corporation')
    expect(await loginPageTitle()).toBe('Sign in to Acme Corporation')
    const audit = await t.db.sql<{ details: Record<string, string> }>(
      "SELECT details FROM audit_events WHERE action = 'organization.renamed' ORDER BY occurred_at DESC LIMIT 1",
    )
    expect(audit[0]?.details).toMatchObject({ to: 'Acme Corporation' })
  })

  it('takes a name and settings together', async () => {
    const res = await tenant.admin('PATCH', '/api/v1/organization', {
      name: 'Acme',
      settings: { lockout_threshold: 7 },
    })
    expect(res.status).toBe(200)
    expect(await jsonOf(res)).toMatchObject({ name: 'Acme', settings: { lockout_threshold: 7 } })
  })

  it.each([
    ['an empty name', { name: '   ' }, 'must not be empty'],
    ['a name of 101 characters', { name: 'x'.repeat(101) }, 'must be at most 100 characters'],
    ['a control character', { name: 'Acme\u0007' }, 'must not contain control characters'],
    ['nothing to change', {}, 'must change the name or at least one setting'],
  ])('refuses %s with a problem (400) and changes nothing', async (_what, body, detail) => {
    const res = await tenant.admin('PATCH', '/api/v1/organization', body)
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(JSON.stringify(await jsonOf(res))).toContain(detail)
    expect(await loginPageTitle()).toBe('Sign in to Acme')
  })

  it('needs organization:write (403 with organization:read only)', async () => {
    const token = await tenant.adminToken('organization:read')
    const res = await tenant.admin('PATCH', '/api/v1/organization', { name: 'Evil' }, token)
    expect(res.status).toBe(403)
    expect(await loginPageTitle()).toBe('Sign in to Acme')
  })
})
