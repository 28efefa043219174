/** Request headers without building an undici Headers object per request. */
import type { Context } from 'hono'

/**
 * A request header by lower-case name. Under @hono/node-server it reads the headers Node has
 * already parsed; c.req.header() would first build an undici Headers object from them, a
 * measurable share of a small request's cost. In-process requests (app.request) use the
 * Request's own headers.
 */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = (
    c.env as { incoming?: { headers: Record<string, string | string[] | undefined> } } | undefined
  )?.incoming
  if (!incoming) return c.req.header(name)
  const value = incoming.headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}
