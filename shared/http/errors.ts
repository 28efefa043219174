/**
 * The error family. Handlers throw; one serializer (serialize-error.ts) answers in the
 * dialect of the route: OAuth JSON (RFC 6749 §5.2), SCIM (RFC 7644 §3.12) or problem+json
 * (RFC 9457). Status and headers come from the error, never from the handler.
 */

/** A failure with an HTTP status. `code` is stable: callers and tests switch on it. */
export class HttpError extends Error {
  readonly status: number
  readonly code: string
  readonly headers: Readonly<Record<string, string>>
  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message)
    this.name = new.target.name
    this.status = status
    this.code = code
    this.headers = headers
  }
  /** Only client errors carry their message to the client; a 5xx says nothing of its cause. */
  get expose(): boolean {
    return this.status < 500
  }
}

/** OAuth error codes, by the section that defines them. */
export type OAuthErrorCode =
  // RFC 6749 §4.1.2.1, §5.2
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  // RFC 6750 §3.1
  | 'invalid_token'
  | 'insufficient_scope'
  // OpenID Connect Core §3.1.2.6
  | 'interaction_required'
  | 'login_required'
  | 'account_selection_required'
  | 'consent_required'
  | 'invalid_request_uri'
  | 'invalid_request_object'
  | 'request_not_supported'
  | 'request_uri_not_supported'
  | 'registration_not_supported'
  // RFC 7591 §3.2.2
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata'
  // RFC 8707 §2
  | 'invalid_target'
  // RFC 9396 §5
  | 'invalid_authorization_details'

const OAUTH_STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
}

/**
 * An error description in the characters RFC 6749 §5.2 (and RFC 6750 §3) allow: printable
 * ASCII without `"` and `\`. A double quote becomes a single one; anything else outside the
 * set (a client's non-ASCII parameter name, a control character) becomes `?`.
 */
export function oauthDescription(text: string): string {
  // Bounded: a description may quote what the request sent, and it travels in a Location
  // header or a WWW-Authenticate challenge, where a large one breaks clients and proxies.
  const bounded = text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 3)}...` : text
  return bounded.replace(/"/g, "'").replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, '?')
}

/** The longest error_description sent, in characters. */
export const MAX_DESCRIPTION = 300

/** Quotes a value for an auth-param (RFC 9110 §11.2: quoted-string escapes `"` and `\`). */
export function quoteAuthParam(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`
}

export class OAuthError extends HttpError {
  declare readonly code: OAuthErrorCode
  constructor(
    code: OAuthErrorCode,
    description: string,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(options.status ?? OAUTH_STATUS[code] ?? 400, code, description, options.headers)
  }
}

/**
 * `invalid_client` (RFC 6749 §5.2): 401 with a challenge for the scheme the client used
 * (Basic unless told otherwise).
 */
export function invalidClient(description: string, scheme = 'Basic', realm = 'zenoauth'): OAuthError {
  return new OAuthError('invalid_client', description, {
    headers: { 'www-authenticate': `${scheme} realm=${quoteAuthParam(realm)}` },
  })
}

/** RFC 6750 §3: a Bearer challenge carrying the error. */
export function bearerError(
  code: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
  description: string,
  extra: { scope?: string } = {},
): OAuthError {
  const params = [
    `error=${quoteAuthParam(code)}`,
    `error_description=${quoteAuthParam(oauthDescription(description))}`,
  ]
  if (extra.scope) params.push(`scope=${quoteAuthParam(extra.scope)}`)
  return new OAuthError(code, description, { headers: { 'www-authenticate': `Bearer ${params.join(', ')}` } })
}

/** RFC 9457 problem details for the admin and PIM APIs. */
export class ProblemError extends HttpError {
  readonly title: string
  readonly type: string
  readonly extensions: Readonly<Record<string, unknown>>
  constructor(
    status: number,
    code: string,
    detail: string,
    options: {
      title?: string
      type?: string
      headers?: Record<string, string>
      extensions?: Record<string, unknown>
    } = {},
  ) {
    super(status, code, detail, options.headers)
    this.title = options.title ?? statusTitle(status)
    this.type = options.type ?? 'about:blank'
    this.extensions = options.extensions ?? {}
  }
}

/** RFC 7644 §3.12 scimType values. */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'

export class ScimError extends HttpError {
  readonly scimType: ScimType | undefined
  constructor(status: number, detail: string, scimType?: ScimType, headers?: Record<string, string>) {
    super(status, scimType ?? `scim_${status}`, detail, headers)
    this.scimType = scimType
  }
}

/** Errors every dialect knows; the serializer renders them in the route's dialect. */
export const notFound = (detail = 'No such endpoint.') => new HttpError(404, 'not_found', detail)
export const malformedBody = (detail: string) => new HttpError(400, 'malformed_body', detail)
// The rest of the body is not read, so the connection cannot carry another request.
export const payloadTooLarge = (limit: number) =>
  new HttpError(413, 'payload_too_large', `The request body exceeds ${limit} bytes.`, { connection: 'close' })
/**
 * The client went away before its request was read: nobody receives this answer; the status
 * (nginx's 499) is what the access log and the request metrics count, not a server error.
 */
export const clientClosedRequest = () =>
  new HttpError(
    499,
    'client_closed_request',
    'The client closed the connection before its request was read.',
    {
      connection: 'close',
    },
  )
export const unsupportedMediaType = (expected: readonly string[]) =>
  new HttpError(415, 'unsupported_media_type', `The request body must be ${expected.join(' or ')}.`)
export const methodNotAllowed = (allow: readonly string[]) =>
  new HttpError(405, 'method_not_allowed', 'The method is not allowed for this endpoint.', {
    allow: allow.join(', '),
  })
export const rateLimited = (retryAfterSeconds: number) =>
  new HttpError(429, 'rate_limited', 'Too many requests; retry later.', {
    'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))),
  })
export const serviceUnavailable = (detail = 'The service is temporarily unavailable.') =>
  new HttpError(503, 'unavailable', detail, { 'retry-after': '1' })

const TITLES: Record<number, string> = {
  499: 'Client Closed Request',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
}

export function statusTitle(status: number): string {
  return TITLES[status] ?? (status < 500 ? 'Bad Request' : 'Internal Server Error')
}
