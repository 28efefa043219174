/**
 * What a function answers: plain data, written by the pipeline (pipeline.ts) to Node's response
 * or, in process, turned into a web Response. Functions build it with the helpers below; none
 * of them knows about Hono or Node.
 */

/** A status, a text body (null: none), plain lower-case headers and cookies to set. */
export interface Reply {
  readonly status: number
  readonly body: string | null
  /** Lower-case names; Content-Length is the writer's business. */
  readonly headers: Readonly<Record<string, string>>
  /** Set-Cookie values (cookies.ts makes them), one header line each. */
  readonly cookies?: readonly string[]
}

type Headers = Readonly<Record<string, string>>

/** `value` as JSON. */
export function json(value: unknown, status = 200, headers: Headers = {}): Reply {
  return { status, body: JSON.stringify(value), headers: { 'content-type': 'application/json', ...headers } }
}

/**
 * A redirect (303 by default: after a form, the browser follows with a GET). Its body is empty
 * text rather than none, as every redirect of ours has been.
 */
export function redirect(
  location: string,
  status: 301 | 302 | 303 | 307 | 308 = 303,
  headers: Headers = {},
): Reply {
  return { status, body: '', headers: { location, ...headers } }
}

/** An answer without a body: 204 unless told otherwise. */
export function empty(status = 204, headers: Headers = {}): Reply {
  return { status, body: null, headers }
}

/** `body` as `contentType`. */
export function text(body: string, contentType: string, status = 200, headers: Headers = {}): Reply {
  return { status, body, headers: { 'content-type': contentType, ...headers } }
}

/** `reply` marked as not to be stored by any cache (RFC 6749 §5.1, RFC 7591 §3.2.1). */
export function noStore(reply: Reply): Reply {
  return withHeaders(reply, { 'cache-control': 'no-store' })
}

/** `reply` with `headers` added (they win over its own). */
export function withHeaders(reply: Reply, headers: Headers): Reply {
  return { ...reply, headers: { ...reply.headers, ...headers } }
}

/** `reply` with cookies added; undefined entries are skipped, so optional cookies read plainly. */
export function withCookies(reply: Reply, ...cookies: readonly (string | undefined)[]): Reply {
  const set = cookies.filter((c): c is string => c !== undefined)
  if (set.length === 0) return reply
  return { ...reply, cookies: [...(reply.cookies ?? []), ...set] }
}
