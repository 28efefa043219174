import { beforeAll, describe, expect, it } from 'vitest'
import { PLANES, type Plane } from '../../../shared/planes.ts'
import { FIXTURE_ROUTES } from '../../fixtures/functions.ts'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { jsonOf } from '../../support/http.ts'
import { createTestRuntime, type TestRuntime } from '../../support/runtime.ts'
import { seedOrganization } from '../../support/seed.ts'

const ID = '2f1c1a4e-8d5b-4a57-9a55-0b8f8e7a1c11'
const NOT_FOUND_BODY = {
  type: 'about:blank',
  title: 'Not Found',
  status: 404,
  detail: 'No such endpoint.',
  code: 'not_found',
}

/** A request that every fixture route answers with a 2xx. */
function requestFor(path: string): [string, RequestInit] {
  if (path.startsWith('/oauth/'))
    return [
      path,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=x',
      },
    ]
  if (path.startsWith('/scim/'))
    return [
      path,
      { method: 'POST', headers: { 'content-type': 'application/scim+json' }, body: '{"userName":"a"}' },
    ]
  if (path.includes(':id'))
    return [
      path.replace(':id', ID),
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"a","count":1}' },
    ]
  if (path.endsWith('fixture-slow')) return [`${path}?ms=0`, {}]
  return [path, {}]
}

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
  await seedOrganization(db, { slug: 'default', isDefault: true })
})

describe('plane splitting', () => {
  const working = FIXTURE_ROUTES.filter((r) => !r.path.endsWith('fixture-boom'))

  for (const plane of PLANES) {
    describe(`PLANES=${plane}`, () => {
      let t: TestRuntime
      beforeAll(async () => {
        t = await createTestRuntime({ db, env: { PLANES: plane }, routes: FIXTURE_ROUTES })
      })

      it(`answers the routes of ${plane}`, async () => {
        for (const route of working.filter((r) => r.plane === plane)) {
          const res = await t.app.request(...requestFor(route.path))
          expect(res.status, route.path).toBeLessThan(300)
        }
      })

      it('answers the routes of other planes exactly as an unknown path (DESIGN.md §1)', async () => {
        const unknown = await t.app.request('/no/such/path')
        const unknownBody = await unknown.text()
        expect(unknown.status).toBe(404)
        expect(JSON.parse(unknownBody)).toEqual(NOT_FOUND_BODY)
        for (const route of working.filter((r) => r.plane !== plane)) {
          const res = await t.app.request(...requestFor(route.path))
          expect(res.status, route.path).toBe(404)
          expect(await res.text(), route.path).toBe(unknownBody)
          expect(res.headers.get('content-type')).toBe(unknown.headers.get('content-type'))
          expect(res.headers.get('allow'), route.path).toBeNull()
        }
      })

      it('serves health and metrics whatever the plane', async () => {
        expect((await t.app.request('/health/liveness')).status).toBe(200)
        expect((await t.app.request('/health/readiness')).status).toBe(200)
        expect((await t.app.request('/metrics')).status).toBe(200)
      })
    })
  }

  it('mounts every plane by default', async () => {
    const t = await createTestRuntime({ db, routes: FIXTURE_ROUTES })
    expect(t.config.planes).toEqual(['auth', 'admin', 'pim', 'break-glass'])
    for (const route of working) {
      const res = await t.app.request(...requestFor(route.path))
      expect(res.status, route.path).toBeLessThan(300)
    }
  })

  it('mounts several planes from a comma list', async () => {
    const t = await createTestRuntime({ db, env: { PLANES: 'pim, break-glass' }, routes: FIXTURE_ROUTES })
    const answered = new Set<Plane>()
    for (const route of working) {
      if ((await t.app.request(...requestFor(route.path))).status < 300) answered.add(route.plane)
    }
    expect([...answered].sort()).toEqual(['break-glass', 'pim'])
  })
})

describe('HTTP conventions', () => {
  let t: TestRuntime
  beforeAll(async () => {
    t = await createTestRuntime({ db, routes: FIXTURE_ROUTES, env: { BODY_LIMIT_BYTES: '2048' } })
  })
  const json = (body: string, method = 'POST') => ({
    method,
    headers: { 'content-type': 'application/json' },
    body,
  })
  const form = (body: string) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  })

  it('answers 405 with Allow for another method on a mounted path', async () => {
    const res = await t.app.request(`/api/v1/fixture-echo/${ID}`, { method: 'DELETE' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('POST, PUT')
    expect(res.headers.get('content-type')).toBe('application/problem+json')
  })

  it('answers 400 problem+json for malformed JSON', async () => {
    const res = await t.app.request(`/api/v1/fixture-echo/${ID}`, json('{"name": '))
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await jsonOf(res)).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The request body is not valid JSON.',
      code: 'malformed_body',
    })
  })

  it('names a missing field and points at it (RFC 9457 extension member)', async () => {
    const res = await t.app.request(`/api/v1/fixture-echo/${ID}`, json('{"count": 1}'))
    expect(res.status).toBe(400)
    const body = await jsonOf(res)
    expect(body).toMatchObject({ status: 400, code: 'validation_failed', detail: '`name` is required' })
    expect(body.errors).toEqual([{ pointer: '/name', detail: expect.any(String) }])
  })

  it('rejects unknown fields of a strict body', async () => {
    const res = await t.app.request(`/api/v1/fixture-echo/${ID}`, json('{"name":"a","count":1,"admin":true}'))
    expect(res.status).toBe(400)
    expect((await jsonOf(res)).detail).toBe('unknown field `admin`')
  })

  it('answers 415 for a body of another media type', async () => {
    const res = await t.app.request(`/api/v1/fixture-echo/${ID}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'x',
    })
    expect(res.status).toBe(415)
    expect((await jsonOf(res)).detail).toBe(
      'The request body must be application/json or application/scim+json.',
    )
  })

  it('answers 404 when a path parameter fails its schema', async () => {
    const res = await t.app.request('/api/v1/fixture-echo/not-a-uuid', json('{"name":"a","count":1}'))
    expect(res.status).toBe(404)
  })

  it('rejects a repeated OAuth parameter (RFC 6749 §3.1)', async () => {
    const res = await t.app.request('/oauth/fixture-echo', form('grant_type=a&grant_type=b'))
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_request',
      error_description: '`grant_type` must not appear more than once',
    })
  })

  it('accepts a repeated parameter that is declared as a list (RFC 8707 resource)', async () => {
    const res = await t.app.request(
      '/oauth/fixture-echo',
      form('grant_type=a&resource=https://a&resource=https://b'),
    )
    expect(res.status).toBe(200)
    expect(await jsonOf(res)).toEqual({ grant_type: 'a', resource: ['https://a', 'https://b'] })
  })

  it('treats a parameter without a value as omitted (RFC 6749 §3.1)', async () => {
    const res = await t.app.request('/oauth/fixture-echo', form('grant_type=&scope=x'))
    expect(await jsonOf(res)).toEqual({
      error: 'invalid_request',
      error_description: '`grant_type` is required',
    })
  })

  it('answers SCIM endpoints with RFC 7644 §3.12 errors', async () => {
    const res = await t.app.request('/scim/v2/FixtureEcho', {
      method: 'POST',
      headers: { 'content-type': 'application/scim+json' },
      body: '{}',
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/scim+json')
    expect(await jsonOf(res)).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '400',
      scimType: 'invalidValue',
      detail: '`userName` is required',
    })
  })

  it('answers 413 for a body over the limit announced by Content-Length', async () => {
    const res = await t.app.request(
      `/api/v1/fixture-echo/${ID}`,
      json(`{"name":"${'a'.repeat(3000)}","count":1}`),
    )
    expect(res.status).toBe(413)
    expect((await jsonOf(res)).detail).toBe('The request body exceeds 2048 bytes.')
  })

  it('answers 413 for a streamed body that grows over the limit', async () => {
    const chunk = new TextEncoder().encode('a'.repeat(1000))
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 5) controller.enqueue(chunk)
        else controller.close()
      },
    })
    const res = await t.app.request(`/api/v1/fixture-echo/${ID}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
  })

  it('answers an unexpected error with a generic 500 and logs it with the request id', async () => {
    const res = await t.app.request('/api/v1/fixture-boom', { headers: { 'x-request-id': 'boom-1' } })
    expect(res.status).toBe(500)
    const text = await res.text()
    expect(JSON.parse(text)).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal Server Error',
      code: 'internal_error',
    })
    expect(text).not.toMatch(/secret|postgres|stack|at /)
    const logged = t.logs.records.find((r) => r.requestId === 'boom-1' && r.msg === 'unexpected error')
    expect(logged).toBeDefined()
    expect((logged!.err as { message: string }).message).toContain('leaked')
  })
})

describe('request ids', () => {
  let t: TestRuntime
  beforeAll(async () => {
    t = await createTestRuntime({ db, routes: FIXTURE_ROUTES })
  })

  it('echoes a well-formed x-request-id and logs the request under it', async () => {
    const res = await t.app.request('/health/liveness', { headers: { 'x-request-id': 'abc-123_DEF.4' } })
    expect(res.headers.get('x-request-id')).toBe('abc-123_DEF.4')
    const line = t.logs.records.find((r) => r.requestId === 'abc-123_DEF.4' && r.msg === 'request')
    expect(line).toMatchObject({
      method: 'GET',
      path: '/health/liveness',
      route: '/health/liveness',
      status: 200,
    })
  })

  it('replaces a malformed x-request-id with a generated one', async () => {
    for (const bad of ['two words', 'x'.repeat(129), 'tab\tinside', '<script>', 'a"b']) {
      const res = await t.app.request('/health/liveness', { headers: { 'x-request-id': bad } })
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    }
  })

  it('generates one when none is given, on errors too', async () => {
    const res = await t.app.request('/nowhere')
    expect(res.status).toBe(404)
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('logs the path without its query string', async () => {
    await t.app.request('/api/v1/fixture-slow?ms=0&code=SECRETCODE', { headers: { 'x-request-id': 'q-1' } })
    expect(t.logs.text()).not.toContain('SECRETCODE')
  })
})
