/**
 * The one error serializer. Whatever a handler or middleware throws becomes a response in
 * the dialect of the route; anything that is not an HttpError is logged with the request id
 * and answered as a generic 500 that says nothing of its cause, except a database's refusal
 * of a request value, which is the client's 400, and a transaction PostgreSQL rolled back for
 * a conflict with another, which is a 503 to retry.
 */
import { sqlStateClass } from '../db/sqlstate.ts'
import { Unavailable } from '../db/unavailable.ts'
import type { Logger } from '../log.ts'
import { errorBody, renderPage } from '../pages/layout.ts'
import {
  HttpError,
  OAuthError,
  type OAuthErrorCode,
  oauthDescription,
  ProblemError,
  ScimError,
  serviceUnavailable,
  statusTitle,
} from './errors.ts'

export type ErrorDialect = 'oauth' | 'problem' | 'scim' | 'html'

/**
 * OAuth endpoints answer RFC 6749 errors, SCIM endpoints RFC 7644 errors, the pages of
 * /auth/ an HTML page, the rest RFC 9457.
 */
export function dialectOfPath(path: string): ErrorDialect {
  if (path.startsWith('/oauth/') || path.startsWith('/.well-known/')) return 'oauth'
  if (path.startsWith('/auth/')) return 'html'
  if (path.startsWith('/scim/')) return 'scim'
  return 'problem'
}

const internalError = () => new HttpError(500, 'internal_error', 'An unexpected error occurred.')

/**
 * Maps any thrown value to its HTTP error; server errors and unexpected values are logged
 * first. The logger is asked for only then: most errors are the client's and log nothing.
 */
export function toHttpError(err: unknown, log: () => Logger): HttpError {
  if (err instanceof HttpError) {
    // A 503 is a state the service is in (the database down), logged without its stack by
    // the thousand during an outage; any other server error is a defect.
    const { defect } = err as { defect?: unknown }
    if (defect !== undefined) log().error({ err: defect }, 'a schema threw on a request value (answered 400)')
    if (err.status === 503) log().warn({ code: err.code, cause: causeOf(err) }, 'request failed: unavailable')
    else if (!err.expose) log().error({ err }, 'request failed')
    return err
  }
  if (err instanceof Unavailable) {
    log().warn({ cause: causeOf(err) }, `request failed: unavailable (${err.message})`)
    return serviceUnavailable(err.message)
  }
  const sqlState = sqlStateClass(err)
  if (sqlState === '22') {
    // A value the request carried that the database refused (SQLSTATE class 22: a string
    // too long for its column, a number out of range, an invalid UUID). The request is at
    // fault, so it gets a 400; it is still logged as an error, since input validation
    // should have refused it before any statement ran.
    log().error({ err }, 'request value refused by the database')
    return new HttpError(400, 'invalid_request', 'A value in the request is not valid.')
  }
  if (sqlState === '40') {
    // A deadlock or a serialization failure (SQLSTATE class 40): rolled back whole, nothing
    // written, and the same request a moment later will most likely succeed.
    log().warn({ err }, 'transaction rolled back for a conflict with another')
    return serviceUnavailable('The request conflicted with another one; retry it.')
  }
  log().error({ err }, 'unexpected error')
  return internalError()
}

function causeOf(err: Error): string | undefined {
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Error ? cause.message : undefined
}

export interface ErrorParts {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** Status, headers and body of an error in a dialect. */
export function errorParts(err: HttpError, dialect: ErrorDialect): ErrorParts {
  const detail = err.expose ? err.message : statusTitle(err.status)
  const headers: Record<string, string> = { ...err.headers, 'cache-control': 'no-store' }
  let body: Record<string, unknown>
  switch (dialect) {
    case 'oauth':
      headers['content-type'] = 'application/json'
      body = { error: oauthCodeOf(err), error_description: oauthDescription(detail) }
      break
    case 'scim':
      headers['content-type'] = 'application/scim+json'
      body = {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
        status: String(err.status),
        ...(scimTypeOf(err) ? { scimType: scimTypeOf(err) } : {}),
        detail,
      }
      break
    case 'html': {
      const rendered = renderPage(statusTitle(err.status), errorBody(statusTitle(err.status), detail), {
        headers: { ...err.headers, 'cache-control': 'no-store' },
      })
      return { status: err.status, headers: rendered.headers, body: rendered.body }
    }
    case 'problem':
      headers['content-type'] = 'application/problem+json'
      body =
        err instanceof ProblemError
          ? {
              type: err.type,
              title: err.title,
              status: err.status,
              detail,
              code: err.code,
              ...err.extensions,
            }
          : {
              type: 'about:blank',
              title: statusTitle(err.status),
              status: err.status,
              detail,
              code: err.code,
            }
      break
  }
  return { status: err.status, headers, body: JSON.stringify(body) }
}

function oauthCodeOf(err: HttpError): OAuthErrorCode {
  if (err instanceof OAuthError) return err.code
  if (err.status === 429 || err.status === 503) return 'temporarily_unavailable'
  if (err.status >= 500) return 'server_error'
  return 'invalid_request'
}

function scimTypeOf(err: HttpError): string | undefined {
  if (err instanceof ScimError) return err.scimType
  if (err.code === 'malformed_body') return 'invalidSyntax'
  return undefined
}
