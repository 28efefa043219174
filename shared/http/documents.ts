/**
 * Public documents: GET endpoints whose answer depends only on the organization and on what
 * the process caches for it (discovery metadata, the JWKS), never on who asks. A function
 * declares one with `document` instead of `handler` (see defineFunction); it is rendered once
 * per cached state, carries a strong ETag and answers a matching If-None-Match with 304.
 *
 * Over Node's HTTP server such a path is answered before Hono: the same organization lookup,
 * document, request id, CORS headers, metrics and access log, with none of a routed request's
 * machinery (through Hono these cheapest of requests cost ~175 µs of the core, half the rate
 * their target asks for). An error (a malformed host, no organization at all, a database that
 * is down) is answered with the app's error serializer in the route's dialect. Anything but a
 * plain GET of exactly the path (another method, a query string) goes on to Hono unchanged,
 * where the function answers it the ordinary way.
 */
import { createHash } from 'node:crypto'
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import type { Runtime } from '../runtime.ts'
import type { Organization } from '../tenancy.ts'
import { CORS_RESPONSE_HEADERS, hasPublicCors } from './cors.ts'
import { incomingHeader } from './headers.ts'
import { recordRequest, requestIdFrom } from './request-context.ts'
import { type ErrorDialect, errorParts, toHttpError } from './serialize-error.ts'

export interface PublicDocument {
  readonly body: string
  /** A strong validator (RFC 9110 §8.8.3), quoted. */
  readonly etag: string
  readonly contentType: string
  readonly cacheControl: string
}

export interface DocumentContext {
  readonly org: Organization
  readonly runtime: Runtime
}

/** Renders the document of an organization; expected to return the same object while nothing changed. */
export type RenderDocument = (ctx: DocumentContext) => Promise<PublicDocument>

/** A JSON document with its ETag, cacheable by anyone for `maxAgeSeconds`. */
export function jsonDocument(body: string, maxAgeSeconds: number): PublicDocument {
  return {
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    contentType: 'application/json',
    cacheControl: `public, max-age=${maxAgeSeconds}`,
  }
}

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 §13.1.2): `*`, or a list of entity
 * tags one of which matches with the weak comparison.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header === etag) return true
  const weak = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag)
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || weak(t) === etag
  })
}

export interface DocumentAnswer {
  readonly status: number
  readonly body: string | null
  /** Lower-case header names; no Content-Length. */
  readonly headers: Readonly<Record<string, string>>
}

/** What answers `doc` to a request that sent `ifNoneMatch`. */
export function answerDocument(doc: PublicDocument, ifNoneMatch: string | undefined): DocumentAnswer {
  const headers = { 'cache-control': doc.cacheControl, etag: doc.etag, 'content-type': doc.contentType }
  // A 304 carries what the 200 would (RFC 9110 §15.4.5), the content type included, which
  // @hono/node-server would otherwise fill in as text/plain.
  return noneMatch(ifNoneMatch, doc.etag)
    ? { status: 304, body: null, headers }
    : { status: 200, body: doc.body, headers }
}

/** A mounted document route, as the Node listener serves it. */
export interface DocumentRoute {
  readonly path: string
  readonly plane: string
  /** How its errors are answered (the function's `errors`, else by path). */
  readonly dialect: ErrorDialect
  readonly render: RenderDocument
}

/**
 * Wraps the app's Node request listener: a GET of exactly a document's path is answered from
 * the document; every other request goes to `next`.
 */
export function withDocuments(
  runtime: Runtime,
  routes: readonly DocumentRoute[],
  next: RequestListener,
): RequestListener {
  if (routes.length === 0) return next
  const byPath = new Map(
    routes.map((route) => [
      route.path,
      {
        ...route,
        cors: hasPublicCors(route.path) ? CORS_RESPONSE_HEADERS : [],
        observe: runtime.metrics.requests.bind(route.path, route.plane, 'GET'),
      },
    ]),
  )
  return (incoming, outgoing) => {
    const route = incoming.method === 'GET' ? byPath.get(incoming.url ?? '') : undefined
    if (!route) return next(incoming, outgoing)
    const started = performance.now()
    const requestId = requestIdFrom(incomingHeader(incoming, 'x-request-id'))
    const send = (answer: DocumentAnswer) => {
      write(outgoing, answer, requestId, route.cors, runtime.draining)
      const { path, plane } = route
      recordRequest(
        runtime,
        { started, requestId, method: 'GET', path, route: path, plane, status: answer.status },
        route.observe,
      )
    }
    runtime.organizations
      .resolve(incomingHeader(incoming, 'host'))
      .then((org) => route.render({ org, runtime }))
      .then(
        (doc) => send(answerDocument(doc, incomingHeader(incoming, 'if-none-match'))),
        // A malformed host, no organization, a database that is down: answered as the app
        // answers a function's error (its serializer, in the route's dialect), not loaded again.
        (err: unknown) => {
          const log = () => runtime.log.child({ requestId })
          send(errorParts(toHttpError(err, log), route.dialect))
        },
      )
      .catch((err: unknown) => {
        runtime.log.error({ err, requestId }, 'answering a document failed')
        if (outgoing.headersSent) outgoing.destroy()
        else next(incoming, outgoing)
      })
  }
}

function write(
  outgoing: ServerResponse<IncomingMessage>,
  answer: DocumentAnswer,
  requestId: string,
  cors: readonly string[],
  draining: boolean,
): void {
  const lines: string[] = ['x-request-id', requestId, ...cors]
  for (const name in answer.headers) lines.push(name, answer.headers[name]!)
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
