/** Node's request under @hono/node-server, and its headers read without building an undici Headers object. */
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

/** A header of a Node request by lower-case name, repeated values joined as Fetch does. */
export function incomingHeader(incoming: IncomingMessage, name: string): string | undefined {
  const value = incoming.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}
