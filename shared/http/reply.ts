/**
 * Responses built without undici's Headers. Hono's c.json()/c.body() build a Headers object
 * whenever a response carries more than one header; @hono/node-server writes a Response made
 * from a string body and a plain header object straight to Node's response instead. The hot
 * endpoints (token, introspection, metadata, health, errors) answer through these.
 */

/** A response with `body` (text or none), `status` and plain lower-case `headers`. */
export function reply(
  body: string | null,
  status: number,
  headers: Readonly<Record<string, string>>,
): Response {
  // A copy: @hono/node-server adds Content-Length to the object it is given.
  return new Response(body, { status, headers: { ...headers } })
}

/** `value` as JSON. */
export function jsonReply(
  value: unknown,
  status: number,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return reply(JSON.stringify(value), status, { 'content-type': 'application/json', ...headers })
}
