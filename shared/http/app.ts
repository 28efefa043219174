/**
 * App composition (DESIGN.md §1): the routes of the planes in PLANES, health and metrics, the
 * OpenAPI document, and the answers for an unknown path or method. Hono routes each request to
 * its Route; the pipeline (pipeline.ts) answers it. A route of a plane that is not mounted is
 * never registered, so it answers exactly as an unknown path does.
 */
import type { IncomingMessage } from 'node:http'
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

// Every method a route may be asked for that it does not declare (HEAD is GET's).
const OTHER_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']

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

  // The methods a path does not serve: a CORS preflight for the public endpoints, 405 with
  // Allow for the rest. Named one by one rather than app.all: a request then matches one
  // handler, which Hono calls without composing a chain.
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])]
    const cors = hasPublicCors(path)
    const plane = mounted.find((e) => e.path === path)!.plane
    app.on(
      OTHER_METHODS.filter((m) => !allow.includes(m)),
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
    work: async (req, start) => fn.answer((await functionContext(runtime, target, req, start)) as never),
  }
}

/** A request under @hono/node-server: Node's request, its headers as Node parsed them. */
class NodeTransport implements TransportRequest {
  readonly method: string
  readonly path: string
  readonly incoming: IncomingMessage
  readonly raw = undefined
  readonly #c: Context

  constructor(c: Context, incoming: IncomingMessage) {
    this.method = incoming.method ?? 'GET'
    // From Node's request line: c.req would build Hono's request object for it.
    const url = incoming.url ?? '/'
    const query = url.indexOf('?')
    this.path = query === -1 ? url : url.slice(0, query)
    this.incoming = incoming
    this.#c = c
  }

  get remoteAddress(): string | undefined {
    return this.incoming.socket.remoteAddress
  }

  header(name: string): string | undefined {
    return incomingHeader(this.incoming, name)
  }

  // Hono decodes every parameter on each c.req.param(): asked for only when there are some.
  params(): Record<string, string> {
    return this.#c.req.param()
  }

  searchParams(): URLSearchParams {
    return new URL(this.#c.req.url).searchParams
  }
}

/** A request in process (app.request, `invoke`): a web Request. */
class WebTransport implements TransportRequest {
  readonly method: string
  readonly path: string
  readonly incoming = undefined
  readonly raw: Request
  readonly remoteAddress = undefined
  readonly #c: Context

  constructor(c: Context) {
    this.method = c.req.method
    this.path = c.req.path
    this.raw = c.req.raw
    this.#c = c
  }

  header(name: string): string | undefined {
    return this.#c.req.header(name)
  }

  params(): Record<string, string> {
    return this.#c.req.param()
  }

  searchParams(): URLSearchParams {
    return new URL(this.#c.req.url).searchParams
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
    const req = incoming ? new NodeTransport(c, incoming) : new WebTransport(c)
    const answered = await answerRequest(runtime, work, req)
    // HEAD: Hono answers it from the GET's Response without its body.
    if (!outgoing || req.method === 'HEAD') return responseOf(runtime, route, req, answered)
    writeAnswer(runtime, route, req, answered, outgoing)
    return RESPONSE_ALREADY_SENT
  }
}
