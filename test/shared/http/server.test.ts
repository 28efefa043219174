import { describe, expect, it } from 'vitest'
import { freePort } from '../../../shared/db/embedded.ts'
import { startServer } from '../../../shared/http/server.ts'
import { FIXTURE_ROUTES } from '../../fixtures/functions.ts'
import { createTestDatabase } from '../../support/database.ts'
import { createTestRuntime } from '../../support/runtime.ts'
import { seedOrganization } from '../../support/seed.ts'

describe('shutdown', () => {
  it('finishes in-flight requests, refuses new connections, closes the pool', async () => {
    const db = await createTestDatabase()
    await seedOrganization(db, { slug: 'main', isDefault: true })
    const port = await freePort()
    const t = await createTestRuntime({
      db,
      routes: FIXTURE_ROUTES,
      env: { PORT: String(port), HOST: '127.0.0.1' },
    })
    const server = await startServer(t.runtime, t.app)
    const base = `http://127.0.0.1:${port}`
    expect((await fetch(`${base}/health/readiness`)).status).toBe(200)

    const inFlight = fetch(`${base}/api/v1/fixture-slow?ms=400`)
    await new Promise((r) => setTimeout(r, 100))
    const stopping = server.shutdown()
    expect(t.runtime.draining).toBe(true)

    const res = await inFlight
    expect(res.status).toBe(200)
    expect(res.headers.get('connection')).toBe('close')
    expect(await res.json()).toEqual({ slept: 400 })
    expect(await stopping).toEqual({ forced: false })
    await expect(fetch(`${base}/health/liveness`)).rejects.toThrow()
    expect(t.runtime.db.stats().total).toBe(0)
    expect(t.runtime.db.pool.ended).toBe(true)
  })

  it('cuts requests that outlive SHUTDOWN_TIMEOUT_MS and says so', async () => {
    const db = await createTestDatabase()
    await seedOrganization(db, { slug: 'main', isDefault: true })
    const port = await freePort()
    const t = await createTestRuntime({
      db,
      routes: FIXTURE_ROUTES,
      env: { PORT: String(port), HOST: '127.0.0.1', SHUTDOWN_TIMEOUT_MS: '100' },
    })
    const server = await startServer(t.runtime, t.app)
    const slow = fetch(`http://127.0.0.1:${port}/api/v1/fixture-slow?ms=3000`).catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 100))
    expect(await server.shutdown()).toEqual({ forced: true })
    expect(await slow).toBeInstanceOf(Error)
  })
})
