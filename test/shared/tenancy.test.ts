import { beforeAll, describe, expect, it } from 'vitest'
import { hostnameOf, issuerOf } from '../../shared/tenancy.ts'
import { FIXTURE_ROUTES } from '../fixtures/functions.ts'
import { createTestDatabase, type TestDatabase } from '../support/database.ts'
import { jsonOf } from '../support/http.ts'
import { createTestRuntime, type TestRuntime } from '../support/runtime.ts'
import { seedOrganization, seedUser } from '../support/seed.ts'

describe('hostnameOf', () => {
  it.each([
    ['id.example.com', 'id.example.com'],
    ['ID.Example.COM:8443', 'id.example.com'],
    ['example.com.', 'example.com'],
    ['[::1]:8080', '::1'],
    ['127.0.0.1:80', '127.0.0.1'],
  ])('reads %s as %s', (header, host) => expect(hostnameOf(header)).toBe(host))

  it.each(['a b', 'evil.com/path', 'x:y:z', 'host:99999999'])('refuses %s', (header) =>
    expect(hostnameOf(header)).toBeUndefined(),
  )
})

describe('issuerOf', () => {
  const org = {
    id: 'x',
    slug: 'acme',
    name: 'Acme',
    settings: {},
    isDefault: false,
    primaryDomain: 'acme.example.com',
  }
  it('is PUBLIC_URL for the default organization', () => {
    expect(issuerOf({ ...org, isDefault: true }, 'https://id.example.com')).toBe('https://id.example.com')
  })
  it('keeps the scheme, port and path of PUBLIC_URL on the primary domain', () => {
    expect(issuerOf(org, 'https://id.example.com:8443/idp')).toBe('https://acme.example.com:8443/idp')
  })
})

describe('organization of a request', () => {
  let db: TestDatabase
  let t: TestRuntime
  beforeAll(async () => {
    db = await createTestDatabase()
    const main = await seedOrganization(db, { slug: 'main', isDefault: true })
    const acme = await seedOrganization(db, { slug: 'acme', domain: 'acme.example.test' })
    await seedUser(db, main, 'root@main.test')
    await seedUser(db, acme, 'alice@acme.test')
    await seedUser(db, acme, 'bob@acme.test')
    t = await createTestRuntime({ db, routes: FIXTURE_ROUTES })
  })
  const whoAmI = async (host?: string) => {
    const res = await t.app.request('/api/v1/fixture-users', host ? { headers: { host } } : {})
    return { status: res.status, body: await jsonOf(res) }
  }

  it('is the default organization on PUBLIC_URL’s host', async () => {
    expect((await whoAmI('localhost:8080')).body).toEqual({
      organization: 'main',
      issuer: 'http://localhost:8080',
      emails: ['root@main.test'],
    })
  })

  it('is the default organization on an unclaimed host', async () => {
    expect((await whoAmI('unclaimed.example.test')).body.organization).toBe('main')
  })

  it('is the organization claiming the host, which is its own issuer, and sees only its own rows', async () => {
    expect((await whoAmI('ACME.example.test:8080')).body).toEqual({
      organization: 'acme',
      issuer: 'http://acme.example.test:8080',
      emails: ['alice@acme.test', 'bob@acme.test'],
    })
  })

  it('answers 400 for a malformed Host', async () => {
    const { status, body } = await whoAmI('bad host')
    expect(status).toBe(400)
    expect(body).toMatchObject({ code: 'invalid_host', detail: 'The Host header is malformed.' })
  })

  it('answers 404 when no organization exists yet', async () => {
    const empty = await createTestRuntime({ routes: FIXTURE_ROUTES })
    const res = await empty.app.request('/api/v1/fixture-users')
    expect(res.status).toBe(404)
    expect(await jsonOf(res)).toMatchObject({ code: 'unknown_organization' })
  })

  it('answers 503 and fails closed when the database is unreachable', async () => {
    const down = await createTestRuntime({
      db,
      routes: FIXTURE_ROUTES,
      env: { DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none', DATABASE_CONNECT_TIMEOUT_MS: '500' },
    })
    const res = await down.app.request('/api/v1/fixture-users')
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect(await jsonOf(res)).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'Service Unavailable',
      code: 'unavailable',
    })
  })
})
