/**
 * Health and metrics, served by every process whatever its planes (DESIGN.md §1):
 * liveness says the process runs (it never asks the database), readiness that it can serve:
 * PostgreSQL reachable with this release's schema, or, once it has been, its caches still
 * fresh enough to serve from (docs/operations.md, "Readiness while PostgreSQL is down"); and
 * that it is not draining.
 */
import { MIGRATIONS } from '../db/migrations.gen.ts'
import type { Runtime } from '../runtime.ts'
import type { Route } from './pipeline.ts'
import { json, type Reply, text } from './reply.ts'

const NO_STORE = { 'cache-control': 'no-store' }

/** The routes every process serves, whatever its planes. */
export function healthRoutes(runtime: Runtime): Route[] {
  const readiness = readinessCheck(runtime)
  const route = (path: string, work: () => Reply | Promise<Reply>): Route => ({
    path,
    plane: 'none',
    dialect: 'problem',
    cors: false,
    work,
  })
  return [
    route('/health/liveness', () => json({ status: 'ok' }, 200, NO_STORE)),
    route('/health/readiness', async () => {
      if (runtime.draining) return json({ status: 'draining' }, 503, NO_STORE)
      const state = await readiness()
      if (state.problem === undefined) return json({ status: 'ok' }, 200, NO_STORE)
      if (state.servesFromCacheFor > 0) {
        // Every pod shares the database: an outage is the same for all, so taking them all out
        // of rotation would turn a partial outage (what the caches can still serve) into a total one.
        return json(
          {
            status: 'degraded',
            detail: `${state.problem} Serving from caches for up to ${Math.ceil(state.servesFromCacheFor / 1000)} s more.`,
          },
          200,
          NO_STORE,
        )
      }
      return json({ status: 'unavailable', detail: state.problem }, 503, NO_STORE)
    }),
    route('/metrics', async () => {
      runtime.metrics.collectProcessMetrics()
      const body = await runtime.metrics.registry.metrics()
      return text(body, runtime.metrics.registry.contentType, 200, NO_STORE)
    }),
  ]
}

/** What a readiness check found: nothing wrong, or a problem and how long the caches can cover it. */
interface Readiness {
  readonly problem: string | undefined
  /** While the database is unreachable: how much longer the caches hold what they held (ms). */
  readonly servesFromCacheFor: number
}

/**
 * A database check shared by concurrent probes; a success is remembered for
 * READINESS_CACHE_MS so probes and load balancers cannot turn into a query storm.
 * A failure is never remembered. Until the schema has once been seen current (every migration
 * this release embeds applied), the check asks for that instead of a bare ping: a process that
 * does not migrate itself is not ready before the migration Job has run. Once it has been
 * ready, an unreachable database leaves it ready, degraded, for CACHE_TTL_MS after its last
 * answer: as long as the caches (organizations, clients, keys) can serve without it.
 */
function readinessCheck(runtime: Runtime): () => Promise<Readiness> {
  let okUntil = 0
  let schemaCurrent = false
  let lastAnswered = Number.NEGATIVE_INFINITY
  let inFlight: Promise<Readiness> | undefined
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
  const OK: Readiness = { problem: undefined, servesFromCacheFor: 0 }
  const unreachable = (): Readiness => ({
    problem: 'The database does not answer.',
    servesFromCacheFor: schemaCurrent
      ? Math.max(0, lastAnswered + runtime.config.cacheTtlMs - performance.now())
      : 0,
  })
  return () => {
    if (performance.now() < okUntil) return Promise.resolve(OK)
    inFlight ??= check()
      .then(
        (problem): Readiness => {
          lastAnswered = performance.now()
          if (problem === undefined) {
            okUntil = lastAnswered + runtime.config.readinessCacheMs
            return OK
          }
          runtime.log.warn({ problem }, 'not ready')
          return { problem, servesFromCacheFor: 0 }
        },
        (err: unknown): Readiness => {
          const state = unreachable()
          runtime.log.warn(
            {
              err: { message: (err as Error).message },
              servesFromCacheForMs: Math.round(state.servesFromCacheFor),
            },
            state.servesFromCacheFor > 0
              ? 'database unreachable: ready, degraded'
              : 'not ready: database unreachable',
          )
          return state
        },
      )
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }
}
