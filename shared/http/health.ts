/**
 * Health and metrics, served by every process whatever its planes (DESIGN.md §1):
 * liveness says the process runs, readiness that it can reach PostgreSQL, that the schema is
 * this release's, and that it is not draining.
 */
import { MIGRATIONS } from '../db/migrations.gen.ts'
import type { Runtime } from '../runtime.ts'
import type { App } from './app.ts'
import { jsonReply, reply } from './reply.ts'

const NO_STORE = { 'cache-control': 'no-store' }

export function mountHealth(app: App, runtime: Runtime): void {
  const readiness = readinessCheck(runtime)

  app.get('/health/liveness', (c) => {
    c.set('route', '/health/liveness')
    return jsonReply({ status: 'ok' }, 200, NO_STORE)
  })

  app.get('/health/readiness', async (c) => {
    c.set('route', '/health/readiness')
    if (runtime.draining) return jsonReply({ status: 'draining' }, 503, NO_STORE)
    const problem = await readiness()
    return problem === undefined
      ? jsonReply({ status: 'ok' }, 200, NO_STORE)
      : jsonReply({ status: 'unavailable', detail: problem }, 503, NO_STORE)
  })

  app.get('/metrics', async (c) => {
    c.set('route', '/metrics')
    runtime.metrics.collectProcessMetrics()
    const body = await runtime.metrics.registry.metrics()
    return reply(body, 200, { 'content-type': runtime.metrics.registry.contentType, ...NO_STORE })
  })
}

/**
 * A database check shared by concurrent probes; a success is remembered for
 * READINESS_CACHE_MS so probes and load balancers cannot turn into a query storm.
 * A failure is never remembered. Until the schema has once been seen current (every migration
 * this release embeds applied), the check asks for that instead of a bare ping: a process that
 * does not migrate itself is not ready before the migration Job has run. Resolves to
 * undefined when ready, else to what is wrong.
 */
function readinessCheck(runtime: Runtime): () => Promise<string | undefined> {
  let okUntil = 0
  let schemaCurrent = false
  let inFlight: Promise<string | undefined> | undefined
  const names = MIGRATIONS.map((m) => m.name)
  const check = async (): Promise<string | undefined> => {
    if (schemaCurrent) {
      await runtime.db.ping()
      return undefined
    }
    const pending = await runtime.db.pendingMigrations(names)
    if (pending.length > 0)
      return `The database schema is behind this release (pending: ${pending.join(', ')}).`
    schemaCurrent = true
    return undefined
  }
  return () => {
    if (performance.now() < okUntil) return Promise.resolve(undefined)
    inFlight ??= check()
      .then(
        (problem) => {
          if (problem === undefined) okUntil = performance.now() + runtime.config.readinessCacheMs
          else runtime.log.warn({ problem }, 'not ready')
          return problem
        },
        (err: unknown) => {
          runtime.log.warn({ err }, 'readiness check failed')
          return 'The database does not answer.'
        },
      )
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }
}
