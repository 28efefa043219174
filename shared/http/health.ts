/**
 * Health and metrics, served by every process whatever its planes (DESIGN.md §1):
 * liveness says the process runs, readiness that it can reach PostgreSQL and is not draining.
 */
import type { Runtime } from '../runtime.ts'
import type { App } from './app.ts'

const NO_STORE = { 'cache-control': 'no-store' }

export function mountHealth(app: App, runtime: Runtime): void {
  const readiness = readinessCheck(runtime)

  app.get('/health/liveness', (c) => {
    c.set('route', '/health/liveness')
    return c.json({ status: 'ok' }, 200, NO_STORE)
  })

  app.get('/health/readiness', async (c) => {
    c.set('route', '/health/readiness')
    if (runtime.draining) return c.json({ status: 'draining' }, 503, NO_STORE)
    const ok = await readiness()
    return ok
      ? c.json({ status: 'ok' }, 200, NO_STORE)
      : c.json({ status: 'unavailable', detail: 'The database does not answer.' }, 503, NO_STORE)
  })

  app.get('/metrics', async (c) => {
    c.set('route', '/metrics')
    runtime.metrics.collectProcessMetrics()
    const body = await runtime.metrics.registry.metrics()
    return c.body(body, 200, { 'content-type': runtime.metrics.registry.contentType, ...NO_STORE })
  })
}

/**
 * A database check shared by concurrent probes; a success is remembered for
 * READINESS_CACHE_MS so probes and load balancers cannot turn into a query storm.
 * A failure is never remembered.
 */
function readinessCheck(runtime: Runtime): () => Promise<boolean> {
  let okUntil = 0
  let inFlight: Promise<boolean> | undefined
  return () => {
    if (performance.now() < okUntil) return Promise.resolve(true)
    inFlight ??= runtime.db
      .ping()
      .then(
        () => {
          okUntil = performance.now() + runtime.config.readinessCacheMs
          return true
        },
        (err: unknown) => {
          runtime.log.warn({ err }, 'readiness check failed')
          return false
        },
      )
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }
}
