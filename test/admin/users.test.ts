import { verify } from '@node-rs/argon2'
import { Ajv2020 } from 'ajv/dist/2020.js'
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

describe('the users API', () => {
  it('creates a user with standard claims and never shows the hash', async () => {
    const res = await tenant.admin('POST', '/api/v1/users', {
      email: 'Carol@Acme.test',
      password: 'a long enough password',
      name: 'Carol',
      given_name: 'Carol',
      family_name: 'Danvers',
      locale: 'en-US',
      birthdate: '1968-03-01',
      address: { locality: 'Boston', country: 'US' },
    })
    expect(res.status).toBe(201)
    const user = await jsonOf(res)
    expect(user).toMatchObject({
      email: 'Carol@Acme.test',
      given_name: 'Carol',
      birthdate: '1968-03-01',
      address: { locality: 'Boston', country: 'US' },
      has_password: true,
      is_active: true,
    })
    expect(JSON.stringify(user)).not.toContain('argon2')
    const [row] = await t.db.sql<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [
      user.id,
    ])
    expect(await verify(row!.password_hash, 'a long enough password')).toBe(true)
  })

  it('keeps emails unique per organization, case-insensitively (409)', async () => {
    await tenant.admin('POST', '/api/v1/users', { email: 'dup@acme.test' })
    const res = await tenant.admin('POST', '/api/v1/users', { email: 'DUP@acme.test' })
    expect(res.status).toBe(409)
    expect((await jsonOf(res)).code).toBe('email_taken')
  })

  it.each([
    [{ email: 'not-an-email' }, '/email'],
    [{ email: 'x@acme.test', password: 'short' }, '/password'],
    [{ email: 'x@acme.test', birthdate: 'yesterday' }, '/birthdate'],
    [{ email: 'x@acme.test', picture: 'javascript:alert(1)' }, '/picture'],
    [{ email: 'x@acme.test', role: 'admin' }, ''],
  ])('refuses %j', async (body, pointer) => {
    const res = await tenant.admin('POST', '/api/v1/users', body)
    expect(res.status).toBe(400)
    expect(JSON.stringify((await jsonOf(res)).errors)).toContain(pointer)
  })

  it('searches by email and pages with a cursor', async () => {
    for (let i = 0; i < 5; i++)
      await tenant.admin('POST', '/api/v1/users', { email: `search${i}@findme.test` })
    const first = await jsonOf(await tenant.admin('GET', '/api/v1/users?email=FINDME&limit=3'))
    expect(first.data).toHaveLength(3)
    const second = await jsonOf(
      await tenant.admin('GET', `/api/v1/users?email=findme&limit=3&cursor=${first.next_cursor}`),
    )
    expect(second.data).toHaveLength(2)
    expect(second.next_cursor).toBeNull()
    expect([...first.data, ...second.data].map((u: { email: string }) => u.email)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `search${i}@findme.test`),
    )
  })

  it('updates, sets a password (audited), and deletes', async () => {
    const user = await jsonOf(await tenant.admin('POST', '/api/v1/users', { email: 'eve@acme.test' }))
    const patched = await jsonOf(
      await tenant.admin('PATCH', `/api/v1/users/${user.id}`, { name: 'Eve', nickname: 'E', website: null }),
    )
    expect(patched).toMatchObject({ name: 'Eve', nickname: 'E', has_password: false })
    expect(
      (await tenant.admin('PUT', `/api/v1/users/${user.id}/password`, { password: 'another long password' }))
        .status,
    ).toBe(204)
    expect((await jsonOf(await tenant.admin('GET', `/api/v1/users/${user.id}`))).has_password).toBe(true)
    expect((await tenant.admin('DELETE', `/api/v1/users/${user.id}`)).status).toBe(204)
    expect((await tenant.admin('GET', `/api/v1/users/${user.id}`)).status).toBe(404)
    const actions = await t.db.sql<{ action: string }>(
      'SELECT action FROM audit_events WHERE target_id = $1 ORDER BY occurred_at',
      [user.id],
    )
    expect(actions.map((a) => a.action)).toEqual([
      'user.created',
      'user.updated',
      'user.password_set',
      'user.deleted',
    ])
  })

  it('requires the users scopes', async () => {
    const token = await tenant.adminToken('applications:read')
    expect((await tenant.admin('GET', '/api/v1/users', undefined, token)).status).toBe(403)
  })
})

describe('the users API in the OpenAPI document', () => {
  it('documents every field a user answer has, and the 404 of an unknown id', async () => {
    const doc = await jsonOf(await t.app.request('/api/v1/openapi.json'))
    const get = doc.paths['/api/v1/users/{id}'].get
    expect(Object.keys(get.responses).sort()).toEqual(['200', '400', '401', '403', '404', 'default'])
    expect(get.responses['404'].content['application/problem+json']).toBeDefined()
    const schema = get.responses['200'].content['application/json'].schema
    expect(schema.additionalProperties).toBe(false)

    // A user with every claim set, as the API answers it, is valid against the document.
    const created = await jsonOf(
      await tenant.admin('POST', '/api/v1/users', {
        email: 'full@acme.test',
        password: 'a long enough password',
        name: 'Full Claims',
        given_name: 'Full',
        family_name: 'Claims',
        middle_name: 'M',
        nickname: 'fc',
        preferred_username: 'full',
        profile: 'https://example.test/full',
        picture: 'https://example.test/full.png',
        website: 'https://example.test',
        gender: 'other',
        birthdate: '1990-01-02',
        zoneinfo: 'Europe/Paris',
        locale: 'fr-FR',
        phone_number: '+33 1 23 45 67 89',
        address: { locality: 'Paris', country: 'FR' },
      }),
    )
    const answer = await jsonOf(await tenant.admin('GET', `/api/v1/users/${created.id}`))
    const validate = new Ajv2020({
      strict: false,
      formats: { uuid: true, 'date-time': true, uri: true, email: true },
    })
    expect(validate.validate(schema, answer), JSON.stringify(validate.errors)).toBe(true)
    expect(Object.keys(answer).sort()).toEqual(Object.keys(schema.properties).sort())
  })
})
