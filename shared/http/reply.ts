/**
 * Answers and responses. A function that needs nothing of Hono's context returns a plain
 * `Answer`, which Node's listener writes directly (direct.ts) and the app turns into a Response
 * (`responseOf`). The rest answer with Responses built without undici's Headers: Hono's
 * c.json()/c.body() build a Headers object whenever a response carries more than one header;
 * @hono/node-server writes a Response made from a string body and a plain header object
 * straight to Node's response instead.
 */

/** A status, a text body (null: none) and plain lower-case headers, without Content-Length. */
export interface Answer {
  readonly status: number
  readonly body: string | null
  readonly headers: Readonly<Record<string, string>>
}

/** `value` as a JSON answer. */
export function jsonAnswer(
  value: unknown,
  status: number,
  headers: Readonly<Record<string, string>> = {},
): Answer {
  return { status, body: JSON.stringify(value), headers: { 'content-type': 'application/json', ...headers } }
}

/** A response with `body` (text or none), `status` and plain lower-case `headers`. */
export function reply(
  body: string | null,
  status: number,
  headers: Readonly<Record<string, string>>,
): Response {
  // A copy: @hono/node-server adds Content-Length to the object it is given.
  return new Response(body, { status, headers: { ...headers } })
}

/** The response of an answer. */
export function responseOf(answer: Answer): Response {
  return reply(answer.body, answer.status, answer.headers)
}

/** `value` as JSON. */
export function jsonReply(
  value: unknown,
  status: number,
  headers: Readonly<Record<string, string>> = {},
): Response {
  return responseOf(jsonAnswer(value, status, headers))
}
