/**
 * Prometheus metrics (prom-client), one registry per runtime: requests by route, plane,
 * method and status; a latency histogram; the pool's connections; process metrics.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import { queuedPasswordHashes } from '../crypto/password.ts'
import type { PoolStats } from '../db/database.ts'

export class Metrics {
  readonly registry = new Registry()
  readonly requests: Counter<'route' | 'plane' | 'method' | 'status'>
  readonly duration: Histogram<'route' | 'plane' | 'method'>

  private processMetrics = false

  constructor(poolStats: () => PoolStats) {
    this.requests = new Counter({
      name: 'zenoauth_http_requests_total',
      help: 'HTTP requests answered, by route pattern, plane, method and status.',
      labelNames: ['route', 'plane', 'method', 'status'],
      registers: [this.registry],
    })
    this.duration = new Histogram({
      name: 'zenoauth_http_request_duration_seconds',
      help: 'Time from request to response headers, by route pattern, plane and method.',
      labelNames: ['route', 'plane', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [this.registry],
    })
    const pool = (name: string, help: string, pick: (s: PoolStats) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(pick(poolStats()))
        },
      })
    pool('zenoauth_db_pool_in_use', 'Pool connections checked out.', (s) => s.total - s.idle)
    pool('zenoauth_db_pool_idle', 'Pool connections open and idle.', (s) => s.idle)
    pool('zenoauth_db_pool_waiting', 'Queries waiting for a pool connection.', (s) => s.waiting)
    new Gauge({
      name: 'zenoauth_password_hashes_queued',
      help: 'Password hashes waiting for a free slot (PASSWORD_HASH_CONCURRENCY).',
      registers: [this.registry],
      collect() {
        this.set(queuedPasswordHashes())
      },
    })
  }

  /**
   * Starts the process metrics (CPU, memory, GC, event-loop lag). Separate from the
   * constructor so a cold start can answer its first request before paying for them.
   */
  collectProcessMetrics(): void {
    if (this.processMetrics) return
    this.processMetrics = true
    collectDefaultMetrics({ register: this.registry, prefix: 'zenoauth_' })
  }

  // Bound children per label set: prom-client would hash the label object on every call.
  private readonly bound = new Map<string, { count: () => void; time: (seconds: number) => void }>()

  observe(route: string, plane: string, method: string, status: number, seconds: number): void {
    const key = `${route} ${plane} ${method} ${status}`
    let series = this.bound.get(key)
    if (!series) {
      const counter = this.requests.labels({ route, plane, method, status: String(status) })
      const histogram = this.duration.labels({ route, plane, method })
      series = { count: () => counter.inc(), time: (s) => histogram.observe(s) }
      this.bound.set(key, series)
    }
    series.count()
    series.time(seconds)
  }
}
