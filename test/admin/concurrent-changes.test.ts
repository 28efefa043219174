/**
 * Changes that race. Each test holds a row lock from outside (as another transaction would),
 * makes requests run into it, then changes or releases the row: the outcome is what the
 * requests would give one after the other, never a lost change, a write to a deleted row or a
 * 500.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { holdRowLock } from '../support/database.ts'
import { jsonOf } from '../support/http.ts'
import { createTenant, type Tenant } from '../support/oauth.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'

let t: TestRuntime
let tenant: Tenant

beforeAll(async () => {
  t = await createTestRuntime()
  tenant = await createTenant(t, 'acme')
})

async function newUser(email: string): Promise<string> {
  const res = await tenant.admin('POST', '/api/v1/users', { email, name: 'Before', locale: 'en' })
  expect(res.status).toBe(201)
  return (await jsonOf(res)).id
}

describe('concurrent changes to one user', () => {
  it('two PATCHes of different fields both take effect', async () => {
    const id = await newUser('both@acme.test')
    const token = await tenant.adminToken()
    const lock = await holdRowLock(t.db, 'users', id)
    const name = tenant.admin('PATCH', `/api/v1/users/${id}`, { name: 'After' }, token)
    const locale = tenant.admin('PATCH', `/api/v1/users/${id}`, { locale: 'fr' }, token)
    await lock.waiters(2)
    await lock.release()
    expect([(await name).status, (await locale).status]).toEqual([200, 200])
    const user = await jsonOf(await tenant.admin('GET', `/api/v1/users/${id}`, undefined, token))
    expect({ name: user.name, locale: user.locale }).toEqual({ name: 'After', locale: 'fr' })
  })

  it('a PATCH of a user deleted meanwhile is a 404 and writes nothing', async () => {
    const id = await newUser('gone@acme.test')
    const token = await tenant.adminToken()
    const lock = await holdRowLock(t.db, 'users', id)
    const patch = tenant.admin('PATCH', `/api/v1/users/${id}`, { name: 'After' }, token)
    await lock.waiters(1)
    await lock.sql('DELETE FROM users WHERE id = $1', [id])
    await lock.release()
    const res = await patch
    expect(res.status).toBe(404)
    expect(await jsonOf(res)).toMatchObject({ code: 'not_found' })
    const audited = await t.db.sql(
      "SELECT 1 FROM audit_events WHERE action = 'user.updated' AND target_id = $1",
      [id],
    )
    expect(audited).toEqual([])
  })
})

describe('concurrent changes to one application', () => {
  it('a PATCH of an application deleted meanwhile is a 404', async () => {
    const app = await tenant.createApplication({ name: 'racing', type: 'service', allowed_scopes: ['a'] })
    const token = await tenant.adminToken()
    const lock = await holdRowLock(t.db, 'applications', app.id)
    const patch = tenant.admin('PATCH', `/api/v1/applications/${app.id}`, { name: 'renamed' }, token)
    await lock.waiters(1)
    await lock.sql('DELETE FROM applications WHERE id = $1', [app.id])
    await lock.release()
    expect((await patch).status).toBe(404)
  })

  it('two secret rotations at once leave only the later secret valid', async () => {
    const app = await tenant.createApplication({ name: 'rotating', type: 'service', allowed_scopes: ['a'] })
    const token = await tenant.adminToken()
    const lock = await holdRowLock(t.db, 'applications', app.id)
    const rotate = () => tenant.admin('POST', `/api/v1/applications/${app.id}/secret`, {}, token)
    const first = rotate()
    const second = rotate()
    await lock.waiters(2)
    await lock.release()
    const secrets = await Promise.all([first, second].map(async (r) => (await jsonOf(await r)).client_secret))
    const valid = await t.db.sql(
      'SELECT 1 FROM application_secrets WHERE application_id = $1 AND (expires_at IS NULL OR expires_at > now())',
      [app.id],
    )
    expect(secrets.every((s) => typeof s === 'string')).toBe(true)
    expect(valid).toHaveLength(1)
  })
})

describe('a registered client updated while an admin disables it (RFC 7592)', () => {
  it('stays disabled, and a DELETE of a client deleted meanwhile answers invalid_token', async () => {
    const issued = await jsonOf(await tenant.admin('POST', '/api/v1/registration-tokens', { uses: 1 }))
    const metadata = { redirect_uris: ['https://rp.example.com/cb'], client_name: 'Dynamic RP' }
    const registered = await jsonOf(
      await t.app.request('/oauth/register', {
        method: 'POST',
        headers: {
          host: tenant.host,
          'content-type': 'application/json',
          authorization: `Bearer ${issued.token}`,
        },
        body: JSON.stringify(metadata),
      }),
    )
    const config = (method: string, body?: unknown) =>
      t.app.request(`/oauth/register/${registered.client_id}`, {
        method,
        headers: {
          host: tenant.host,
          authorization: `Bearer ${registered.registration_access_token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      })
    const [row] = await t.db.sql<{ id: string }>('SELECT id FROM applications WHERE client_id = $1', [
      registered.client_id,
    ])
    const lock = await holdRowLock(t.db, 'applications', row!.id)
    const update = config('PUT', { ...metadata, client_id: registered.client_id, client_name: 'Renamed' })
    await lock.waiters(1)
    await lock.sql('UPDATE applications SET is_active = false WHERE id = $1', [row!.id])
    await lock.release()
    expect((await update).status).toBe(200)
    const [after] = await t.db.sql<{ name: string; is_active: boolean }>(
      'SELECT name, is_active FROM applications WHERE id = $1',
      [row!.id],
    )
    expect(after).toEqual({ name: 'Renamed', is_active: false })

    const again = await holdRowLock(t.db, 'applications', row!.id)
    const removal = config('DELETE')
    await again.waiters(1)
    await again.sql('DELETE FROM applications WHERE id = $1', [row!.id])
    await again.release()
    const res = await removal
    expect(res.status).toBe(401)
    expect(await jsonOf(res)).toMatchObject({ error: 'invalid_token' })
  })
})
