/**
 * The one request pipeline (DESIGN.md §2, docs/writing-a-function.md). Every request a process
 * answers goes through `answerRequest`, whatever answers it (a function, health, a 404) and
 * however it arrived (Node's server, `invoke`, a test's app.request):
 *
 *   request id → the route's work (for a function: organization → caller → parse and
 *   validate → answer) → response headers (request id, CORS, draining) → write → metrics
 *
 * and whatever the work throws is answered by the one serializer in the route's dialect.
 * Hono routes the request to its Route (app.ts); nothing else of it is on the path.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from '../log.ts'
import type { RequestMeta } from '../request-scope.ts'
import type { Runtime } from '../runtime.ts'
import { CORS_RESPONSE_HEADERS } from './cors.ts'
import type { Reply } from './reply.ts'
import { recordRequest, requestIdFrom, requestMeta } from './request-context.ts'
import { type ErrorDialect, errorParts, toHttpError } from './serialize-error.ts'

/** A request as its transport presents it: Node's IncomingMessage, or a web Request in process. */
export interface TransportRequest {
  readonly method: string
  /** The path, without the query string (it can carry codes and tokens: never logged). */
  readonly path: string
  /** A request header by lower-case name. */
  header(name: string): string | undefined
  /** The path parameters of the matched route; asked for only when it has some. */
  params(): Record<string, string>
  /** The query string's parameters; asked for only when needed. */
  searchParams(): URLSearchParams
  /** Node's request, whose body is read directly; undefined in process. */
  readonly incoming: NodeJS.ReadableStream | undefined
  /** The web request, whose body is read in process. */
  readonly raw: Request | undefined
  /** The peer's address; undefined in process. */
  readonly remoteAddress: string | undefined
}

/** What a route's work is given besides the request. */
export interface RequestStart {
  readonly requestId: string
  /** What the audit trail records of the request; worked out on first use. */
  readonly meta: RequestMeta
  /** A logger bound to the request id, made on demand: most requests never log. */
  log(): Logger
}

/**
 * A request's start. A class, so that what is made on demand (meta, log) is a getter or a
 * method on the prototype: an object literal with its own accessors gets a hidden class of its
 * own per request, which V8 keeps for a few major GCs with the request behind it.
 */
class Start implements RequestStart {
  readonly requestId: string
  readonly #runtime: Runtime
  readonly #req: TransportRequest
  #meta: RequestMeta | undefined
  #log: Logger | undefined

  constructor(runtime: Runtime, req: TransportRequest, requestId: string) {
    this.requestId = requestId
    this.#runtime = runtime
    this.#req = req
  }

  get meta(): RequestMeta {
    this.#meta ??= requestMeta(this.requestId, this.#req, this.#runtime.config.proxyTrust)
    return this.#meta
  }

  log(): Logger {
    this.#log ??= this.#runtime.log.child({ requestId: this.requestId })
    return this.#log
  }
}

/** A route: what answers a matched request, and how its answers are labelled and dressed. */
export interface Route {
  /** The route pattern, the request metrics' label ('unmatched' for none). */
  readonly path: string
  readonly plane: string
  readonly dialect: ErrorDialect
  /** Whether answers carry the public CORS headers (cors.ts). */
  readonly cors: boolean
  readonly work: (req: TransportRequest, start: RequestStart) => Promise<Reply> | Reply
}

/** A route with its metric observers bound once (Metrics.requests.bind), by method. */
export interface MountedRoute extends Route {
  observe(method: string): (status: number, seconds: number) => void
}

export function mountRoute(runtime: Runtime, route: Route): MountedRoute {
  const observers: Record<string, (status: number, seconds: number) => void> = {}
  return {
    ...route,
    observe(method) {
      // biome-ignore lint/suspicious/noAssignInExpressions: bound once per method.
      return (observers[method] ??= runtime.metrics.requests.bind(route.path, route.plane, method))
    },
  }
}

/** An answer ready to write: the reply with its final headers, and what to record once written. */
export interface Answered {
  readonly status: number
  readonly body: string | null
  /** Header names and values, alternating; Set-Cookie once per cookie. */
  readonly lines: string[]
  readonly requestId: string
  /** performance.now() when the request arrived. */
  readonly started: number
}

/** Records an answered request in the metrics and access log (once written). */
export function recordAnswer(
  runtime: Runtime,
  route: MountedRoute,
  req: TransportRequest,
  answered: Answered,
  status = answered.status,
): void {
  recordRequest(
    runtime,
    {
      started: answered.started,
      requestId: answered.requestId,
      method: req.method,
      path: req.path,
      route: route.path,
      plane: route.plane,
      status,
    },
    route.observe(req.method),
  )
}

/** Runs `route`'s work for `req` and dresses its reply, or the serialized error it threw. */
export async function answerRequest(
  runtime: Runtime,
  route: MountedRoute,
  req: TransportRequest,
): Promise<Answered> {
  const started = performance.now()
  const requestId = requestIdFrom(req.header('x-request-id'))
  const start = new Start(runtime, req, requestId)
  let reply: Reply
  try {
    reply = await route.work(req, start)
  } catch (err) {
    reply = errorParts(
      toHttpError(err, () => start.log()),
      route.dialect,
    )
  }
  return {
    status: reply.status,
    body: reply.body,
    lines: headerLines(reply, requestId, route.cors, runtime.draining),
    requestId,
    started,
  }
}

/**
 * A reply's headers with those every answer carries: the request id and the route's CORS
 * headers, unless the reply sets its own (the function's win), and `Connection: close` while
 * draining, so the connection is not reused.
 */
function headerLines(reply: Reply, requestId: string, cors: boolean, draining: boolean): string[] {
  const { headers } = reply
  const lines: string[] = []
  if (!('x-request-id' in headers)) lines.push('x-request-id', requestId)
  if (cors) {
    for (let i = 0; i < CORS_RESPONSE_HEADERS.length; i += 2) {
      const name = CORS_RESPONSE_HEADERS[i]!
      if (!(name in headers)) lines.push(name, CORS_RESPONSE_HEADERS[i + 1]!)
    }
  }
  for (const name in headers) lines.push(name, headers[name]!)
  if (reply.cookies) for (const cookie of reply.cookies) lines.push('set-cookie', cookie)
  if (draining) lines.push('connection', 'close')
  return lines
}

// Statuses whose responses have no content (RFC 9110 §6.4.1).
const NO_CONTENT = new Set([204, 304])

/**
 * Writes an answer to Node's response. Node refuses some header values (a newline, say): that
 * answer is replaced by the serializer's 500; what cannot be written at all closes the socket.
 */
export function writeAnswer(
  runtime: Runtime,
  route: MountedRoute,
  req: TransportRequest,
  answered: Answered,
  outgoing: ServerResponse<IncomingMessage>,
): void {
  try {
    writeLines(outgoing, answered.status, answered.lines, answered.body)
    recordAnswer(runtime, route, req, answered)
  } catch (err) {
    const log = () => runtime.log.child({ requestId: answered.requestId })
    if (outgoing.headersSent) {
      log().error({ err }, 'writing a response failed')
      outgoing.destroy()
      return
    }
    const error = errorParts(toHttpError(err, log), route.dialect)
    const lines = headerLines(error, answered.requestId, route.cors, runtime.draining)
    writeLines(outgoing, error.status, lines, error.body)
    recordAnswer(runtime, route, req, answered, error.status)
  }
}

function writeLines(
  outgoing: ServerResponse<IncomingMessage>,
  status: number,
  lines: string[],
  body: string | null,
): void {
  if (body === null || NO_CONTENT.has(status)) {
    outgoing.writeHead(status, lines)
    outgoing.end()
    return
  }
  lines.push('content-length', String(Buffer.byteLength(body)))
  outgoing.writeHead(status, lines)
  outgoing.end(body)
}

/** An answer as a web Response, for requests answered in process (app.request, `invoke`). */
export function responseOf(
  runtime: Runtime,
  route: MountedRoute,
  req: TransportRequest,
  answered: Answered,
): Response {
  const headers = new Headers()
  for (let i = 0; i < answered.lines.length; i += 2)
    headers.append(answered.lines[i]!, answered.lines[i + 1]!)
  const body = NO_CONTENT.has(answered.status) ? null : answered.body
  // Kept when a HEAD's body is dropped (Hono answers HEAD from the GET's Response).
  if (body !== null) headers.set('content-length', String(Buffer.byteLength(body)))
  const response = new Response(body, { status: answered.status, headers })
  recordAnswer(runtime, route, req, answered)
  return response
}
