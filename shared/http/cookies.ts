/**
 * Cookies of the browser-facing pages: HttpOnly, SameSite, and on anything but plain-http
 * localhost also Secure with the `__Host-` prefix (no Domain, Path=/), so a sibling host
 * cannot set or read them. Reading takes the request's headers; setting makes a Set-Cookie
 * value that a function returns with its reply (withCookies).
 */
import { parse, serialize } from 'hono/utils/cookie'
import type { Organization } from '../tenancy.ts'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

// Per organization object: the directory replaces the object when the organization changes.
const plainLocalhostOf = new WeakMap<Organization, boolean>()

/** Whether cookies may go without Secure: only for an http issuer on a loopback host. */
function plainLocalhost(org: Organization): boolean {
  let plain = plainLocalhostOf.get(org)
  if (plain === undefined) {
    const url = new URL(org.issuer)
    plain = url.protocol === 'http:' && LOOPBACK.has(url.hostname)
    plainLocalhostOf.set(org, plain)
  }
  return plain
}

export function cookieName(org: Organization, name: string): string {
  return plainLocalhost(org) ? `zenoauth-${name}` : `__Host-zenoauth-${name}`
}

interface CookieSource {
  readonly org: Organization
  header(name: string): string | undefined
}

/** A cookie of the request, by its unprefixed name. */
export function readCookie(from: CookieSource, name: string): string | undefined {
  const header = from.header('cookie')
  if (!header) return undefined
  const full = cookieName(from.org, name)
  return parse(header, full)[full]
}

/** The Set-Cookie value that sets `name` to `value`. */
export function setCookie(
  org: Organization,
  name: string,
  value: string,
  options: { sameSite: 'Lax' | 'Strict'; maxAgeSeconds?: number },
): string {
  return serialize(cookieName(org, name), value, {
    path: '/',
    httpOnly: true,
    secure: !plainLocalhost(org),
    sameSite: options.sameSite,
    ...(options.maxAgeSeconds !== undefined ? { maxAge: options.maxAgeSeconds } : {}),
  })
}

/** The Set-Cookie value that deletes `name`. */
export function clearCookie(org: Organization, name: string): string {
  return serialize(cookieName(org, name), '', {
    path: '/',
    secure: !plainLocalhost(org),
    httpOnly: true,
    maxAge: 0,
    expires: new Date(0),
  })
}
