/**
 * App composition (DESIGN.md §1): the routes of the planes in PLANES, health and metrics,
 * one request-context middleware and one error serializer. A route of a plane that is not
 * mounted is never registered, so it answers exactly as an unknown path does.
 */
import { type Context, Hono } from 'hono'
import type { Logger } from '../log.ts'
import type { Runtime } from '../runtime.ts'
import { PUBLIC_CORS_PATHS, publicCors } from './cors.ts'
import type { HttpMethod, RequestMeta, RouteEntry } from './define-function.ts'
import type { AnswerRoute, DirectRoutes } from './direct.ts'
import type { DocumentRoute } from './documents.ts'
import { methodNotAllowed, notFound } from './errors.ts'
import { functionContext, type Invocable, invocable } from './function-context.ts'
import { lateResponseHeader, nodeBindings, requestHeader, responseHeaders } from './headers.ts'
import { mountHealth } from './health.ts'
import { openApiDocument } from './openapi.ts'
import { reply } from './reply.ts'
import { recordRequest, requestIdFrom, requestMeta } from './request-context.ts'
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

// What each app mounts that Node's listener answers before Hono (server.ts, direct.ts).
const directOfApp = new WeakMap<App, DirectRoutes>()

/** The public documents and answer functions `app` mounts (direct.ts). */
export function directRoutesOf(app: App): DirectRoutes {
  return directOfApp.get(app) ?? { documents: [], functions: [] }
}

export function createApp(runtime: Runtime, routes: readonly RouteEntry[]): App {
  const app = new Hono<AppEnv>()
  app.use(requestContext(runtime))
  // Browser apps (public clients) call these directly; they are all the auth plane's.
  if (runtime.config.planes.includes('auth'))
    for (const path of PUBLIC_CORS_PATHS) app.use(path, publicCors())
  mountHealth(app, runtime)

  const mounted = routes.filter((r) => runtime.config.planes.includes(r.plane))
  const methodsByPath = new Map<string, Set<HttpMethod>>()
  const documents: DocumentRoute[] = []
  const functions: AnswerRoute[] = []
  for (const entry of mounted) {
    const target = invocable(entry.fn)
    app.on([...entry.methods], entry.path, invokeFunction(runtime, entry.plane, target))
    if (entry.fn.document) {
      const { dialect } = target
      documents.push({ path: entry.path, plane: entry.plane, dialect, render: entry.fn.document })
    }
    if (entry.fn.answer) functions.push({ entry, target })
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

  directOfApp.set(app, { documents, functions })
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
  const { config } = runtime
  return async (c: Context<AppEnv>, next: () => Promise<void>) => {
    const started = performance.now()
    const requestId = requestIdFrom(requestHeader(c, 'x-request-id'))
    c.set('requestId', requestId)
    const header = (name: string) => requestHeader(c, name)
    const socket = nodeBindings(c).incoming?.socket.remoteAddress
    c.set('request', requestMeta(requestId, header, socket, config.proxyTrust))
    const finish = responseHeaders(c, { 'x-request-id': requestId })
    await next()
    finish()
    // Draining may have begun while this request ran: its connection must not be reused.
    if (runtime.draining) lateResponseHeader(c, 'connection', 'close')
    recordRequest(runtime, {
      started,
      requestId,
      method: c.req.method,
      path: c.req.path,
      // c.get, not c.var: Hono builds a new object from its variables on every c.var.
      route: c.get('route') ?? 'unmatched',
      plane: c.get('plane') ?? 'none',
      status: c.res.status,
    })
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

function invokeFunction(runtime: Runtime, plane: string, target: Invocable) {
  const { fn, dialect } = target
  return async (c: Context<AppEnv>) => {
    c.set('dialect', dialect)
    c.set('route', fn.path)
    c.set('plane', plane)
    const ctx = await functionContext(runtime, target, {
      method: c.req.method,
      header: (name) => requestHeader(c, name),
      // Hono decodes every parameter on each c.req.param(): asked for only when there are some.
      params: () => c.req.param(),
      searchParams: () => new URL(c.req.url).searchParams,
      incoming: nodeBindings(c).incoming,
      raw: c.req.raw,
      meta: c.get('request'),
      log: () => requestLog(runtime, c),
    })
    return fn.handler(c, ctx as never)
  }
}
