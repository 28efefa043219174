/**
 * The request metrics are kept in plain numbers (RequestMetrics) but must read, on scrape,
 * exactly as prom-client's own Counter and Histogram would for the same observations.
 */
import { Counter, Histogram, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { DURATION_BUCKETS, RequestMetrics } from '../../../shared/http/metrics.ts'

const OBSERVATIONS: [string, string, string, number, number][] = [
  ['/oauth/token', 'auth', 'POST', 200, 0.0004],
  ['/oauth/token', 'auth', 'POST', 200, 0.0005], // on a bucket's bound: counted in it
  ['/oauth/token', 'auth', 'POST', 401, 0.003],
  ['/oauth/token', 'auth', 'POST', 200, 7], // above every bound: +Inf only
  ['/.well-known/jwks.json', 'auth', 'GET', 200, 0.00002],
  ['/.well-known/jwks.json', 'auth', 'GET', 304, 0.0011],
  ['unmatched', 'none', 'GET', 404, 0.02],
  ['/api/v1/users/:id', 'admin', 'PATCH', 500, 0.25],
]

function withPromClient(): Registry {
  const registry = new Registry()
  const requests = new Counter({
    name: 'zenoauth_http_requests_total',
    help: 'HTTP requests answered, by route pattern, plane, method and status.',
    labelNames: ['route', 'plane', 'method', 'status'],
    registers: [registry],
  })
  const duration = new Histogram({
    name: 'zenoauth_http_request_duration_seconds',
    help: 'Time from request to response headers, by route pattern, plane and method.',
    labelNames: ['route', 'plane', 'method'],
    buckets: DURATION_BUCKETS,
    registers: [registry],
  })
  for (const [route, plane, method, status, seconds] of OBSERVATIONS) {
    requests.inc({ route, plane, method, status: String(status) })
    duration.observe({ route, plane, method }, seconds)
  }
  return registry
}

describe('request metrics', () => {
  it('scrape exactly as prom-client Counter and Histogram do', async () => {
    const registry = new Registry()
    const metrics = new RequestMetrics(registry)
    for (const o of OBSERVATIONS) metrics.observe(...o)
    const ours = await registry.metrics()
    expect(ours).toBe(await withPromClient().metrics())
    expect(ours).toContain(
      'zenoauth_http_requests_total{route="/oauth/token",plane="auth",method="POST",status="200"} 3',
    )
    expect(ours).toContain(
      'zenoauth_http_request_duration_seconds_bucket{le="0.0005",route="/oauth/token",plane="auth",method="POST"} 2',
    )
    expect(ours).toContain(
      'zenoauth_http_request_duration_seconds_bucket{le="+Inf",route="/oauth/token",plane="auth",method="POST"} 4',
    )
  })

  it('start again from nothing when the registry is reset, bound observers too', async () => {
    const registry = new Registry()
    const metrics = new RequestMetrics(registry)
    for (const o of OBSERVATIONS) metrics.observe(...o)
    const jwks = metrics.bind('/.well-known/jwks.json', 'auth', 'GET')
    registry.resetMetrics()
    expect((await registry.getMetricsAsJSON()).map((m) => m.values)).toEqual([[], []])
    metrics.observe('/oauth/token', 'auth', 'POST', 200, 0.002)
    jwks(304, 0.0001) // bound before the reset, still counted after it
    const text = await registry.metrics()
    expect(text).toContain(
      'zenoauth_http_request_duration_seconds_count{route="/oauth/token",plane="auth",method="POST"} 1',
    )
    expect(text).toContain(
      'zenoauth_http_requests_total{route="/.well-known/jwks.json",plane="auth",method="GET",status="304"} 1',
    )
    expect(text).not.toContain('status="404"')
  })
})
