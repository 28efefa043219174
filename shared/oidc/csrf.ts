/**
 * CSRF protection of the pages' forms: a random value in a SameSite=Strict cookie that every
 * form repeats in a hidden field (double submit), and an Origin that, when the browser sends
 * one, must be this issuer's.
 */
import type { Context } from 'hono'
import { digestsEqual, randomToken } from '../crypto/random.ts'
import { readCookie, writeCookie } from '../http/cookies.ts'
import { HttpError } from '../http/errors.ts'
import { requestHeader } from '../http/headers.ts'
import type { Organization } from '../tenancy.ts'

const CSRF_COOKIE = 'csrf'

/** The token for this browser's forms, set as a cookie on first use. */
export function csrfToken(c: Context, org: Organization): string {
  const existing = readCookie(c, org, CSRF_COOKIE)
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing
  const token = randomToken()
  writeCookie(c, org, CSRF_COOKIE, token, { sameSite: 'Strict' })
  return token
}

/** @throws HttpError 403 when the form's token or the request's origin is not this site's. */
export function verifyCsrf(c: Context, org: Organization, submitted: string | undefined): void {
  const origin = requestHeader(c, 'origin')
  if (origin && origin !== new URL(org.issuer).origin) {
    throw new HttpError(403, 'csrf', 'The form was submitted from another site.')
  }
  const cookie = readCookie(c, org, CSRF_COOKIE)
  if (!cookie || !submitted || !digestsEqual(Buffer.from(cookie), Buffer.from(submitted))) {
    throw new HttpError(
      403,
      'csrf',
      'The form expired or was not submitted from this site. Go back, reload it and try again.',
    )
  }
}
