/**
 * CORS for the endpoints browser apps (public clients) call directly: discovery, JWKS,
 * token, UserInfo, revocation, PAR. No credentials ride along (tokens go in headers and
 * bodies, never cookies), so any origin may, and no `Vary: Origin` is needed.
 *
 * Written here rather than taken from hono/cors, which sets its headers through `c.res`
 * before the handler runs; Hono must then copy every response to merge them (a new Response
 * and body stream per request, a tenth of the token endpoint's time). These are set the way
 * the request id is (responseHeaders): on Node's response, merged when it is written.
 */
import type { Context } from 'hono'
import { requestHeader, responseHeaders } from './headers.ts'
import { reply } from './reply.ts'

const ALLOW_HEADERS = 'authorization, content-type, dpop'
// What a page may read besides the CORS-safelisted headers: the error details and limits.
const EXPOSE_HEADERS = 'www-authenticate, retry-after, x-request-id'
const MAX_AGE_SECONDS = '600'
const PREFLIGHT = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST',
  'access-control-allow-headers': ALLOW_HEADERS,
  'access-control-max-age': MAX_AGE_SECONDS,
}
const SIMPLE = { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSE_HEADERS }
/** The headers of an answer to a non-preflight request, as name, value, name, value. */
export const CORS_RESPONSE_HEADERS: readonly string[] = Object.entries(SIMPLE).flat()

/** The paths that answer CORS (Hono patterns: `/*` is a prefix); all the auth plane's. */
export const PUBLIC_CORS_PATHS = [
  '/.well-known/*',
  '/oauth/token',
  '/oauth/userinfo',
  '/oauth/revoke',
  '/oauth/par',
] as const

/** Whether a request path is one of PUBLIC_CORS_PATHS. */
export function hasPublicCors(path: string): boolean {
  return PUBLIC_CORS_PATHS.some((p) => (p.endsWith('/*') ? path.startsWith(p.slice(0, -1)) : path === p))
}

export function publicCors() {
  return async (c: Context, next: () => Promise<void>): Promise<Response | undefined> => {
    // A preflight: answered here, the handler never runs.
    if (c.req.method === 'OPTIONS' && requestHeader(c, 'access-control-request-method') !== undefined)
      return reply(null, 204, PREFLIGHT)
    const finish = responseHeaders(c, SIMPLE)
    await next()
    finish()
    return undefined
  }
}
