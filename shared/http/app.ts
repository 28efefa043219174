/**
 * App composition (DESIGN.md §1): the routes of the planes in PLANES, health and metrics, the
 * OpenAPI document, and the answers for an unknown path or method. Hono routes each request to
 * its Route; the pipeline (pipeline.ts) answers it. A route of a plane that is not mounted is
 * never registered, so it answers exactly as an unknown path does.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { type Context, Hono } from 'hono'
import type { Runtime } from '../runtime.ts'
import { hasPublicCors, preflight } from './cors.ts'
import type { HttpMethod, RouteEntry } from './define-function.ts'
import { methodNotAllowed, notFound } from './errors.ts'
import { functionContext, invocable } from './function-context.ts'
import { incomingHeader, nodeBindings } from './headers.ts'
import { healthRoutes } from './health.ts'
import { openApiDocument } from './openapi.ts'
import {
  answerRequest,
  type MountedRoute,
  mountRoute,
  type Route,
  responseOf,
  type TransportRequest,
  writeAnswer,
} from './pipeline.ts'
import { json } from './reply.ts'
import { dialectOfPath } from './serialize-error.ts'

export type App = Hono

export function createApp(runtime: Runtime, routes: readonly RouteEntry[]): App {
  const app = new Hono()
  const on = (methods: readonly string[], route: Route) => {
    app.on([...methods], route.path, handle(runtime, mountRoute(runtime, route)))
  }
  for (const route of healthRoutes(runtime)) on(['GET'], route)

  const mounted = routes.filter((r) => runtime.config.planes.includes(r.plane))
  const methodsByPath = new Map<string, Set<HttpMethod>>()
  for (const entry of mounted) {
    on(entry.methods, functionRoute(runtime, entry))
    const methods = methodsByPath.get(entry.path) ?? new Set()
    for (const m of entry.methods) methods.add(m)
    methodsByPath.set(entry.path, methods)
  }

  if (runtime.config.planes.includes('admin')) {
    on(['GET'], {
      path: '/api/v1/openapi.json',
      plane: 'admin',
      dialect: 'problem',
      cors: false,
      work: async (req) => {
        const org = await runtime.organizations.resolve(req.header('host'))
        return json(openApiDocument(mounted, org.issuer), 200, { 'cache-control': 'public, max-age=300' })
      },
    })
  }

  // Registered after every method's route, so they only catch the other methods: a CORS
  // preflight for the public endpoints, 405 with Allow for the rest.
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])]
    const cors = hasPublicCors(path)
    const plane = mounted.find((e) => e.path === path)!.plane
    app.all(
      path,
      handle(
        runtime,
        mountRoute(runtime, {
          path,
          plane,
          dialect: dialectOfPath(path),
          cors,
          work: (req) => {
            if (cors && req.method === 'OPTIONS' && req.header('access-control-request-method') !== undefined)
              return preflight()
            throw methodNotAllowed(allow)
          },
        }),
      ),
    )
  }

  const unmatched = mountRoute(runtime, {
    path: 'unmatched',
    plane: 'none',
    dialect: 'problem',
    cors: false,
    work: () => {
      throw notFound()
    },
  })
  app.notFound(handle(runtime, unmatched))
  // The pipeline answers what a route throws; this is for what Hono itself might.
  app.onError((err, c) => handle(runtime, unmatched, err)(c))
  return app
}

/** The route of a function: organization, caller, parsed request, then its answer. */
function functionRoute(runtime: Runtime, entry: RouteEntry): Route {
  const target = invocable(entry.fn)
  const { fn } = entry
  return {
    path: entry.path,
    plane: entry.plane,
    dialect: target.dialect,
    cors: hasPublicCors(entry.path),
    work: async (req, start) => {
      const ctx = await functionContext(runtime, target, { ...transportFields(req), ...start })
      return fn.answer(ctx as never)
    },
  }
}

function transportFields(req: TransportRequest) {
  return {
    method: req.method,
    header: req.header,
    params: req.params,
    searchParams: req.searchParams,
    incoming: req.incoming,
    raw: req.raw,
  }
}

/**
 * Hono's handler for `route`. Under @hono/node-server the answer is written to Node's response
 * directly (no web Response is built); in process it is returned as a Response.
 */
function handle(runtime: Runtime, route: MountedRoute, thrown?: unknown) {
  const work = thrown === undefined ? route : { ...route, work: () => Promise.reject(thrown) }
  return async (c: Context): Promise<Response> => {
    const { incoming, outgoing } = nodeBindings(c)
    const req: TransportRequest = incoming
      ? {
          method: incoming.method ?? 'GET',
          path: c.req.path,
          header: (name) => incomingHeader(incoming, name),
          // Hono decodes every parameter on each c.req.param(): asked for only when there are some.
          params: () => c.req.param(),
          searchParams: () => new URL(c.req.url).searchParams,
          incoming,
          raw: undefined,
          remoteAddress: incoming.socket.remoteAddress,
        }
      : {
          method: c.req.method,
          path: c.req.path,
          header: (name) => c.req.header(name),
          params: () => c.req.param(),
          searchParams: () => new URL(c.req.url).searchParams,
          incoming: undefined,
          raw: c.req.raw,
          remoteAddress: undefined,
        }
    const answered = await answerRequest(runtime, work as MountedRoute, req)
    // HEAD: Hono answers it from the GET's Response without its body.
    if (!outgoing || req.method === 'HEAD') return responseOf(answered)
    writeAnswer(runtime, route, answered, outgoing)
    return RESPONSE_ALREADY_SENT
  }
}
