/**
 * CSRF protection of the pages' forms: a random value in a SameSite=Strict cookie that every
 * form repeats in a hidden field (double submit), and an Origin that, when the browser sends
 * one, must be this issuer's.
 */
import { digestsEqual, randomToken } from '../crypto/random.ts'
import { readCookie, setCookie } from '../http/cookies.ts'
import { HttpError } from '../http/errors.ts'
import type { RequestScope } from '../request-scope.ts'

const CSRF_COOKIE = 'csrf'

type Scope = Pick<RequestScope, 'org' | 'header'>

/** The token for this browser's forms, and the cookie to set when it is new (withCookies). */
export interface CsrfToken {
  readonly token: string
  readonly cookie: string | undefined
}

export function csrfToken(scope: Scope): CsrfToken {
  const existing = readCookie(scope, CSRF_COOKIE)
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return { token: existing, cookie: undefined }
  const token = randomToken()
  return { token, cookie: setCookie(scope.org, CSRF_COOKIE, token, { sameSite: 'Strict' }) }
}

/** @throws HttpError 403 when the form's token or the request's origin is not this site's. */
export function verifyCsrf(scope: Scope, submitted: string | undefined): void {
  const origin = scope.header('origin')
  if (origin && origin !== new URL(scope.org.issuer).origin) {
    throw new HttpError(403, 'csrf', 'The form was submitted from another site.')
  }
  const cookie = readCookie(scope, CSRF_COOKIE)
  if (!cookie || !submitted || !digestsEqual(Buffer.from(cookie), Buffer.from(submitted))) {
    throw new HttpError(
      403,
      'csrf',
      'The form expired or was not submitted from this site. Go back, reload it and try again.',
    )
  }
}
