/** Request and response headers without building an undici Headers object per request. */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Context } from 'hono'

interface NodeBindings {
  incoming?: IncomingMessage
  outgoing?: ServerResponse
}

/** Node's request and response, when @hono/node-server serves (not for in-process app.request()). */
export function nodeBindings(c: Context): NodeBindings {
  return (c.env as NodeBindings | undefined) ?? {}
}

/**
 * A request header by lower-case name. Under @hono/node-server it reads the headers Node has
 * already parsed; c.req.header() would first build an undici Headers object from them, a
 * measurable share of a small request's cost. In-process requests (app.request) use the
 * Request's own headers.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = nodeBindings(c).incoming
  return incoming ? incomingHeader(incoming, name) : c.req.header(name)
}

/** A header of a Node request by lower-case name, repeated values joined as Fetch does. */
export function incomingHeader(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * Headers every response to this request carries, whatever answers it (handler, error,
 * not-found). Under @hono/node-server they are set on Node's response, which merges them
 * into the handler's response when it is written (the handler's own headers win); in
 * process (app.request, `invoke`) they are set on the response once `next()` has produced
 * it. Call before `next()`; returns what to call after it.
 */
export function responseHeaders(c: Context, headers: Readonly<Record<string, string>>): () => void {
  const outgoing = nodeBindings(c).outgoing
  if (outgoing) {
    for (const name in headers) outgoing.setHeader(name, headers[name]!)
    return noop
  }
  return () => {
    for (const name in headers) if (!c.res.headers.has(name)) c.res.headers.set(name, headers[name]!)
  }
}

/** A header set on the response being answered, after `next()` (see responseHeaders). */
export function lateResponseHeader(c: Context, name: string, value: string): void {
  const outgoing = nodeBindings(c).outgoing
  if (outgoing) outgoing.setHeader(name, value)
  else c.res.headers.set(name, value)
}

function noop(): void {}
