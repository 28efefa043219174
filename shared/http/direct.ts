/**
 * Routes answered over Node's HTTP server before Hono: public documents (documents.ts) and
 * functions that answer from their context alone (an `answer` instead of a `handler`, see
 * AnswerDefinition). These are the hottest endpoints: discovery and the JWKS, the token
 * endpoint, introspection, revocation, UserInfo and PAR. Routed through Hono, a request to
 * them pays for the web Request and Response, the Context and the middleware chain, which
 * measured as much as the function's own work (the token endpoint served ~50 % more tokens
 * per second without them, README "Benchmarks").
 *
 * A request is served here only for exactly a route's method and path (no query string);
 * it gets what the app would give it: the organization of its Host, the body and query read
 * and validated by the same code (function-context.ts), the request id, CORS headers, metrics
 * and access log, `Connection: close` while draining, and errors from the app's one serializer
 * in the route's dialect. Everything else (another method, a query string, a preflight) goes
 * on to Hono unchanged, where the same function answers it the ordinary way.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { Logger } from '../log.ts'
import type { Runtime } from '../runtime.ts'
import { CORS_RESPONSE_HEADERS, hasPublicCors } from './cors.ts'
import type { RouteEntry } from './define-function.ts'
import { answerDocument, type DocumentRoute } from './documents.ts'
import { functionContext, type Invocable } from './function-context.ts'
import { incomingHeader } from './headers.ts'
import type { Answer } from './reply.ts'
import { recordRequest, requestIdFrom, requestMeta } from './request-context.ts'
import { type ErrorDialect, errorParts, toHttpError } from './serialize-error.ts'

/** A mounted function with an `answer`, with what createApp worked out for it. */
export interface AnswerRoute {
  readonly entry: RouteEntry
  readonly target: Invocable
}

/** What the app mounts that Node's listener answers itself. */
export interface DirectRoutes {
  readonly documents: readonly DocumentRoute[]
  readonly functions: readonly AnswerRoute[]
}

/** What a route answers a request with. */
type Serve = (incoming: IncomingMessage, requestId: string, log: () => Logger) => Promise<Answer>

interface DirectRoute {
  readonly path: string
  readonly plane: string
  readonly method: string
  readonly dialect: ErrorDialect
  readonly cors: readonly string[]
  readonly observe: (status: number, seconds: number) => void
  readonly serve: Serve
}

const NO_PARAMS = (): Record<string, string> => ({})
const NO_QUERY = () => new URLSearchParams()

/**
 * Wraps the app's Node request listener: a request for exactly a direct route's method and
 * path is answered here; every other request goes to `next`.
 */
export function withDirectRoutes(
  runtime: Runtime,
  routes: DirectRoutes,
  next: RequestListener,
): RequestListener {
  const byMethod = new Map<string, Map<string, DirectRoute>>()
  const add = (method: string, route: Omit<DirectRoute, 'method' | 'cors' | 'observe'>) => {
    const paths = byMethod.get(method) ?? new Map<string, DirectRoute>()
    paths.set(route.path, {
      ...route,
      method,
      cors: hasPublicCors(route.path) ? CORS_RESPONSE_HEADERS : [],
      observe: runtime.metrics.requests.bind(route.path, route.plane, method),
    })
    byMethod.set(method, paths)
  }
  for (const doc of routes.documents) {
    add('GET', {
      path: doc.path,
      plane: doc.plane,
      dialect: doc.dialect,
      serve: async (incoming) => {
        const org = await runtime.organizations.resolve(incomingHeader(incoming, 'host'))
        return answerDocument(await doc.render({ org, runtime }), incomingHeader(incoming, 'if-none-match'))
      },
    })
  }
  for (const { entry, target } of routes.functions) {
    const answer = entry.fn.answer
    if (!answer || target.hasParams) throw new TypeError(`${entry.path}: not a function with an answer`)
    for (const method of entry.methods) {
      add(method, {
        path: entry.path,
        plane: entry.plane,
        dialect: target.dialect,
        serve: async (incoming, requestId, log) => {
          const header = (name: string) => incomingHeader(incoming, name)
          const meta = requestMeta(
            requestId,
            header,
            incoming.socket.remoteAddress,
            runtime.config.proxyTrust,
          )
          const ctx = await functionContext(runtime, target, {
            method,
            header,
            params: NO_PARAMS,
            searchParams: NO_QUERY,
            incoming,
            raw: undefined,
            meta,
            log,
          })
          return answer(ctx as never)
        },
      })
    }
  }
  if (byMethod.size === 0) return next

  return (incoming, outgoing) => {
    const route = byMethod.get(incoming.method ?? '')?.get(incoming.url ?? '')
    if (!route) return next(incoming, outgoing)
    const started = performance.now()
    const requestId = requestIdFrom(incomingHeader(incoming, 'x-request-id'))
    const log = () => runtime.log.child({ requestId })
    const send = (answer: Answer) => {
      write(outgoing, answer, requestId, route.cors, runtime.draining)
      const { path, plane, method } = route
      recordRequest(
        runtime,
        { started, requestId, method, path, route: path, plane, status: answer.status },
        route.observe,
      )
    }
    // What the function threw, and a failure to write its answer (a header value Node refuses,
    // say), are answered by the app's serializer. The request is never handed on to the app
    // once served here: that would run a function with side effects a second time.
    route
      .serve(incoming, requestId, log)
      .then(send)
      .catch((err: unknown) => send(errorParts(toHttpError(err, log), route.dialect)))
      .catch((err: unknown) => {
        runtime.log.error({ err, requestId }, 'answering a request before the app failed')
        outgoing.destroy()
      })
  }
}

/**
 * Writes an answer with the headers every response carries: the request id and the route's
 * CORS headers, unless the answer sets its own (as the app merges them, the function's win).
 */
function write(
  outgoing: ServerResponse<IncomingMessage>,
  answer: Answer,
  requestId: string,
  cors: readonly string[],
  draining: boolean,
): void {
  const { headers } = answer
  const lines: string[] = []
  if (!('x-request-id' in headers)) lines.push('x-request-id', requestId)
  for (let i = 0; i < cors.length; i += 2) if (!(cors[i]! in headers)) lines.push(cors[i]!, cors[i + 1]!)
  for (const name in headers) lines.push(name, headers[name]!)
  // Draining: this connection must not be reused (as app.ts does for routed requests).
  if (draining) lines.push('connection', 'close')
  if (answer.body === null) {
    outgoing.writeHead(answer.status, lines)
    outgoing.end()
    return
  }
  lines.push('content-length', String(Buffer.byteLength(answer.body)))
  outgoing.writeHead(answer.status, lines)
  outgoing.end(answer.body)
}
