/**
 * Cookies of the browser-facing pages: HttpOnly, SameSite, and on anything but plain-http
 * localhost also Secure with the `__Host-` prefix (no Domain, Path=/), so a sibling host
 * cannot set or read them.
 */
import type { Context } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { parse } from 'hono/utils/cookie'
import type { Organization } from '../tenancy.ts'
import { requestHeader } from './headers.ts'

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

/**
 * A cookie of the request, parsed as hono/cookie's getCookie parses it, from the Cookie
 * header Node has already parsed: getCookie would first build an undici Headers object of
 * every request header (requestHeader).
 */
export function readCookie(c: Context, org: Organization, name: string): string | undefined {
  const header = requestHeader(c, 'cookie')
  if (!header) return undefined
  const full = cookieName(org, name)
  return parse(header, full)[full]
}

export function writeCookie(
  c: Context,
  org: Organization,
  name: string,
  value: string,
  options: { sameSite: 'Lax' | 'Strict'; maxAgeSeconds?: number },
): void {
  setCookie(c, cookieName(org, name), value, {
    path: '/',
    httpOnly: true,
    secure: !plainLocalhost(org),
    sameSite: options.sameSite,
    ...(options.maxAgeSeconds !== undefined ? { maxAge: options.maxAgeSeconds } : {}),
  })
}

export function clearCookie(c: Context, org: Organization, name: string): void {
  deleteCookie(c, cookieName(org, name), { path: '/', secure: !plainLocalhost(org), httpOnly: true })
}
