/**
 * What every request gets (pipeline.ts): a request id, what the audit trail records of it, and
 * the metrics and access log line once answered.
 */
import { randomUUID } from 'node:crypto'
import type { RequestMeta } from '../request-scope.ts'
import type { Runtime } from '../runtime.ts'
import { clientAddress, type ProxyTrust } from './client-ip.ts'

// Accepted as given when it looks like an id, never when it could smuggle anything into logs.
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

/** The request id: the client's X-Request-Id when well-formed, else a new UUID. */
export function requestIdFrom(given: string | undefined): string {
  return given && REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * What a request tells of itself (RequestMeta): its id, the client's address behind `trust`'s
 * proxies (X-Forwarded-For, else the socket's `remoteAddress`) and its user agent.
 */
export function requestMeta(
  requestId: string,
  req: { header(name: string): string | undefined; readonly remoteAddress: string | undefined },
  trust: ProxyTrust,
): RequestMeta {
  return {
    requestId,
    ip: clientAddress(req.header('x-forwarded-for'), req.remoteAddress, trust),
    userAgent: req.header('user-agent'),
  }
}

export interface AnsweredRequest {
  /** performance.now() when the request arrived. */
  readonly started: number
  readonly requestId: string
  readonly method: string
  /** The path only: query strings can carry codes and tokens. */
  readonly path: string
  /** The route pattern and plane, the labels of the request metrics. */
  readonly route: string
  readonly plane: string
  readonly status: number
}

/**
 * Observes an answered request in the metrics and, when enabled, the access log; `observe` is
 * the route's bound observer when the caller holds one (Metrics.requests.bind).
 */
export function recordRequest(
  runtime: Runtime,
  r: AnsweredRequest,
  observe = runtime.metrics.requests.bind(r.route, r.plane, r.method),
): void {
  const seconds = (performance.now() - r.started) / 1000
  observe(r.status, seconds)
  if (runtime.config.accessLog) {
    runtime.log.info(
      {
        requestId: r.requestId,
        method: r.method,
        path: r.path,
        route: r.route,
        status: r.status,
        ms: Math.round(seconds * 1e4) / 10,
      },
      'request',
    )
  }
}
