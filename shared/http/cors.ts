/**
 * CORS for the endpoints browser apps (public clients) call directly: discovery, JWKS,
 * token, UserInfo, revocation, PAR. No credentials ride along (tokens go in headers and
 * bodies, never cookies), so any origin may, and no `Vary: Origin` is needed.
 *
 * The pipeline adds the headers to every answer of these routes (pipeline.ts); a preflight is
 * answered by the route that catches the methods a path does not serve (app.ts).
 */
import { empty, type Reply } from './reply.ts'

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

/** The paths that answer CORS (`/*` is a prefix); all the auth plane's. */
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

/** The answer to a CORS preflight. */
export function preflight(): Reply {
  return empty(204, PREFLIGHT)
}
