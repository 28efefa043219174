/**
 * App composition (DESIGN.md §1): the routes of the planes in PLANES, health and metrics,
 * one request-context middleware and one error serializer. A route of a plane that is not
 * mounted is never registered, so it answers exactly as an unknown path does.
 */
import { randomUUID } from 'node:crypto'
import { type Context, Hono } from 'hono'
import type { Logger } from '../log.ts'
import type { Runtime } from '../runtime.ts'
import { clientAddress, type ProxyTrust } from './client-ip.ts'
import { publicCors } from './cors.ts'
import type { HandlerContext, HttpMethod, RequestMeta, RouteEntry } from './define-function.ts'
import { methodNotAllowed, notFound } from './errors.ts'
import { lateResponseHeader, nodeBindings, requestHeader, responseHeaders } from './headers.ts'
import { mountHealth } from './health.ts'
import { openApiDocument } from './openapi.ts'
import { decodeBody, decodeParameters, readBody, validate } from './parse-request.ts'
import { reply } from './reply.ts'
import {
  dialectOfPath,
  type ErrorDialect,
  type ErrorParts,
  errorParts,
  toHttpError,
} from './serialize-error.ts'

export interface AppVariables {
  requestId: string
  dialect: ErrorDialect
  /** Route pattern and plane, the labels of the request metrics. */
  route: string
  plane: string
  request: RequestMeta
}
export type AppEnv = { Variables: AppVariables }
export type App = Hono<AppEnv>

// Accepted as given when it looks like an id, never when it could smuggle anything into logs.
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/
const BODYLESS = new Set(['GET', 'HEAD', 'DELETE'])
const CORS_PATHS = [
  '/.well-known/*',
  '/oauth/token',
  '/oauth/userinfo',
  '/oauth/revoke',
  '/oauth/par',
] as const

export function createApp(runtime: Runtime, routes: readonly RouteEntry[]): App {
  const app = new Hono<AppEnv>()
  app.use(requestContext(runtime))
  // Browser apps (public clients) call these directly; they are all the auth plane's.
  if (runtime.config.planes.includes('auth')) for (const path of CORS_PATHS) app.use(path, publicCors())
  mountHealth(app, runtime)

  const mounted = routes.filter((r) => runtime.config.planes.includes(r.plane))
  const methodsByPath = new Map<string, Set<HttpMethod>>()
  for (const entry of mounted) {
    app.on([...entry.methods], entry.path, invokeFunction(runtime, entry))
    const methods = methodsByPath.get(entry.path) ?? new Set()
    for (const m of entry.methods) methods.add(m)
    methodsByPath.set(entry.path, methods)
  }
  // Registered after every method handler, so they only catch the other methods.
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])]
    app.all(path, (c) => {
      c.set('dialect', dialectOfPath(path))
      throw methodNotAllowed(allow)
    })
  }

  if (runtime.config.planes.includes('admin')) {
    app.get('/api/v1/openapi.json', async (c) => {
      c.set('route', '/api/v1/openapi.json')
      c.set('plane', 'admin')
      const org = await runtime.organizations.resolve(requestHeader(c, 'host'))
      return c.json(openApiDocument(mounted, org.issuer), 200, { 'cache-control': 'public, max-age=300' })
    })
  }

  app.notFound(() => respond(errorParts(notFound(), 'problem')))
  app.onError((err, c) =>
    respond(
      errorParts(
        toHttpError(err, () => requestLog(runtime, c)),
        c.get('dialect') ?? 'problem',
      ),
    ),
  )
  return app
}

function requestContext(runtime: Runtime) {
  const { metrics, config } = runtime
  return async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const started = performance.now()
    const given = requestHeader(c, 'x-request-id')
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID()
    c.set('requestId', requestId)
    c.set('request', {
      requestId,
      ip: clientIp(c, config.proxyTrust),
      userAgent: requestHeader(c, 'user-agent'),
    })
    const finish = responseHeaders(c, { 'x-request-id': requestId })
    await next()
    finish()
    // Draining may have begun while this request ran: its connection must not be reused.
    if (runtime.draining) lateResponseHeader(c, 'connection', 'close')
    const seconds = (performance.now() - started) / 1000
    // c.get, not c.var: Hono builds a new object from its variables on every c.var.
    const route = c.get('route') ?? 'unmatched'
    const plane = c.get('plane') ?? 'none'
    metrics.observe(route, plane, c.req.method, c.res.status, seconds)
    if (config.accessLog) {
      // The path only: query strings can carry codes and tokens.
      runtime.log.info(
        {
          requestId,
          method: c.req.method,
          path: c.req.path,
          route,
          status: c.res.status,
          ms: Math.round(seconds * 1e4) / 10,
        },
        'request',
      )
    }
  }
}

/** A logger bound to the request id. Made on demand: most requests never log. */
function requestLog(runtime: Runtime, c: Context<AppEnv>): Logger {
  return runtime.log.child({ requestId: c.get('requestId') })
}

/** An error's response. */
function respond(error: ErrorParts): Response {
  return reply(error.body, error.status, error.headers)
}

function invokeFunction(runtime: Runtime, entry: RouteEntry) {
  const { fn } = entry
  const dialect = fn.errors ?? dialectOfPath(fn.path)
  const bodyType = fn.bodyType ?? (dialect === 'oauth' ? 'form' : 'json')
  // Hono decodes every parameter on each c.req.param(); most paths have none.
  const hasParams = fn.path.includes(':')
  return async (c: Context<AppEnv>) => {
    c.set('dialect', dialect)
    c.set('route', fn.path)
    c.set('plane', entry.plane)
    const org = await runtime.organizations.resolve(requestHeader(c, 'host'))
    let params: unknown = hasParams ? c.req.param() : {}
    if (fn.params) {
      const parsed = fn.params.safeParse(params)
      if (!parsed.success) throw notFound()
      params = parsed.data
    }
    const query = fn.query
      ? validate(fn.query, decodeParameters(new URL(c.req.url).searchParams, fn.query, dialect), dialect)
      : undefined
    let body: unknown
    if (fn.body && !BODYLESS.has(c.req.method)) {
      const text = await readBody(
        c.req.raw,
        requestHeader(c, 'content-length'),
        runtime.config.bodyLimitBytes,
        nodeBindings(c).incoming,
      )
      body = validate(
        fn.body,
        decodeBody(text, requestHeader(c, 'content-type'), bodyType, fn.body, dialect),
        dialect,
      )
    }
    let log: Logger | undefined
    const ctx: HandlerContext<unknown, unknown, unknown> = {
      body,
      query,
      params,
      org,
      db: {
        transaction: (work, options) => runtime.db.inOrganization(org.id, work, options),
        query: (text, values) => runtime.db.statement(org.id, text, values),
      },
      runtime,
      get log() {
        log ??= requestLog(runtime, c)
        return log
      },
      request: c.get('request'),
      header: (name) => requestHeader(c, name),
    }
    return fn.handler(c, ctx as never)
  }
}

/**
 * The client's address. Behind `hops` trusted proxies it is the entry that many places from
 * the right of X-Forwarded-For (each proxy appends the address it saw); otherwise the socket's.
 */
function clientIp(c: Context, trust: ProxyTrust): string | undefined {
  const socket = nodeBindings(c).incoming?.socket.remoteAddress
  return clientAddress(requestHeader(c, 'x-forwarded-for'), socket, trust)
}
