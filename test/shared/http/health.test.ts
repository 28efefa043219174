import pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../../shared/db/migrate.ts'
import { MIGRATIONS } from '../../../shared/db/migrations.gen.ts'
import { FIXTURE_ROUTES } from '../../fixtures/functions.ts'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { jsonOf } from '../../support/http.ts'
import { createTestRuntime, type TestRuntime } from '../../support/runtime.ts'
import { seedOrganization } from '../../support/seed.ts'

let db: TestDatabase
let t: TestRuntime
beforeAll(async () => {
  db = await createTestDatabase()
  await seedOrganization(db, { slug: 'main', isDefault: true })
  t = await createTestRuntime({ db, routes: FIXTURE_ROUTES })
})

describe('GET /health/liveness', () => {
  it('answers 200 without asking the database', async () => {
    const down = await createTestRuntime({ db, env: { DATABASE_URL: 'postgres://x:y@127.0.0.1:1/z' } })
    const res = await down.app.request('/health/liveness')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(await jsonOf(res)).toEqual({ status: 'ok' })
  })
})

describe('GET /health/readiness', () => {
  it('answers 200 when the database answers', async () => {
    const res = await t.app.request('/health/readiness')
    expect(res.status).toBe(200)
    expect(await jsonOf(res)).toEqual({ status: 'ok' })
  })

  it('answers 503 while the database does not answer', async () => {
    const down = await createTestRuntime({
      db,
      env: { DATABASE_URL: 'postgres://x:y@127.0.0.1:1/z', DATABASE_CONNECT_TIMEOUT_MS: '300' },
    })
    const res = await down.app.request('/health/readiness')
    expect(res.status).toBe(503)
    expect(await jsonOf(res)).toEqual({ status: 'unavailable', detail: 'The database does not answer.' })
  })

  it('answers 503 until every migration of this release is applied (a Job migrates), then 200', async () => {
    const empty = await createTestDatabase({ empty: true })
    const fresh = await createTestRuntime({
      db: empty,
      env: { MIGRATE_ON_START: 'false', READINESS_CACHE_MS: '0', JOBS: 'false' },
    })
    const owner = new pg.Client({ connectionString: empty.ownerUrl })
    await owner.connect()
    try {
      const before = await fresh.app.request('/health/readiness')
      expect(before.status).toBe(503)
      const names = MIGRATIONS.map((m) => m.name)
      expect(await jsonOf(before)).toEqual({
        status: 'unavailable',
        detail: `The database schema is behind this release (pending: ${names.join(', ')}).`,
      })
      // All but the last applied: still behind.
      await migrate(owner, MIGRATIONS.slice(0, -1))
      expect((await fresh.app.request('/health/readiness')).status).toBe(503)
      await migrate(owner)
      expect((await fresh.app.request('/health/readiness')).status).toBe(200)
      // Once current, the schema is not asked for again: a bare ping suffices.
      await owner.query('REVOKE SELECT ON zenoauth_migrations FROM zenoauth_runtime')
      expect((await fresh.app.request('/health/readiness')).status).toBe(200)
    } finally {
      await owner.end()
    }
  })

  it('answers 503 while draining', async () => {
    const draining = await createTestRuntime({ db })
    draining.runtime.draining = true
    const res = await draining.app.request('/health/readiness')
    expect(res.status).toBe(503)
    expect(await jsonOf(res)).toEqual({ status: 'draining' })
  })
})

describe('GET /metrics', () => {
  it('exposes requests, latency, the pool and the process in Prometheus text format', async () => {
    await t.app.request('/health/readiness')
    await t.app.request('/api/v1/fixture-slow?ms=1')
    await t.app.request('/api/v1/fixture-boom')
    await t.app.request('/nowhere/at/all')
    const res = await t.app.request('/metrics')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const text = await res.text()
    expect(text).toContain(
      'zenoauth_http_requests_total{route="/api/v1/fixture-slow",plane="admin",method="GET",status="200"} 1',
    )
    expect(text).toContain(
      'zenoauth_http_requests_total{route="/api/v1/fixture-boom",plane="admin",method="GET",status="500"} 1',
    )
    expect(text).toContain(
      'zenoauth_http_requests_total{route="/health/readiness",plane="none",method="GET",status="200"}',
    )
    // Unknown paths share one label, so random paths cannot blow up the series count.
    expect(text).toContain(
      'zenoauth_http_requests_total{route="unmatched",plane="none",method="GET",status="404"} 1',
    )
    expect(text).toMatch(
      /zenoauth_http_request_duration_seconds_bucket\{le="0\.005",route="\/api\/v1\/fixture-slow",plane="admin",method="GET"\} \d/,
    )
    expect(text).toMatch(/^zenoauth_db_pool_in_use \d+$/m)
    expect(text).toMatch(/^zenoauth_db_pool_idle \d+$/m)
    expect(text).toMatch(/^zenoauth_db_pool_waiting \d+$/m)
    expect(text).toMatch(/^zenoauth_process_resident_memory_bytes \d+/m)
    expect(text).toMatch(/^zenoauth_nodejs_eventloop_lag_seconds /m)
  })
})
