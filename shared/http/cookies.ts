/**
 * Cookies of the browser-facing pages: HttpOnly, SameSite, and on anything but plain-http
 * localhost also Secure with the `__Host-` prefix (no Domain, Path=/), so a sibling host
 * cannot set or read them.
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import type { Organization } from '../tenancy.ts'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])

/** Whether cookies may go without Secure: only for an http issuer on a loopback host. */
function plainLocalhost(org: Organization): boolean {
  const url = new URL(org.issuer)
  return url.protocol === 'http:' && LOOPBACK.has(url.hostname)
}

export function cookieName(org: Organization, name: string): string {
  return plainLocalhost(org) ? `zenoauth-${name}` : `__Host-zenoauth-${name}`
}

export function readCookie(c: Context, org: Organization, name: string): string | undefined {
  return getCookie(c, cookieName(org, name))
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
