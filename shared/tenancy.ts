/**
 * Tenancy (DESIGN.md §4): a request's organization comes from its Host. The default
 * organization answers on PUBLIC_URL and on every unclaimed host; every organization is its
 * own issuer. Lookups are cached in-process with a TTL (DESIGN.md §6).
 */
import type { Database } from './db/database.ts'
import { type OrganizationRow, resolveOrganizationByHost } from './db/organizations.ts'
import { HttpError } from './http/errors.ts'

export interface Organization extends OrganizationRow {
  /** The issuer identifier (RFC 8414 §2): exact, no trailing slash. */
  readonly issuer: string
}

/** The issuer of an organization: PUBLIC_URL for the default one, its primary domain otherwise. */
export function issuerOf(org: OrganizationRow, publicUrl: string): string {
  if (org.isDefault || !org.primaryDomain) return publicUrl
  const url = new URL(publicUrl)
  url.hostname = org.primaryDomain
  return url.href.replace(/\/$/, '')
}

/** The host name of a Host header, lower-cased, without port or IPv6 brackets. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?$/i.exec(hostHeader.trim())
  if (!match) return undefined
  return (match[1] ?? match[2])!.toLowerCase().replace(/\.$/, '')
}

interface Entry {
  readonly value: Promise<Organization>
  readonly expiresAt: number
}

export class OrganizationDirectory {
  private readonly entries = new Map<string, Entry>()
  private readonly db: Database
  private readonly publicUrl: string
  private readonly ttlMs: number
  // Random Host headers must not grow memory without bound.
  private readonly maxEntries: number

  constructor(db: Database, publicUrl: string, ttlMs = 30_000, maxEntries = 1000) {
    this.db = db
    this.publicUrl = publicUrl
    this.ttlMs = ttlMs
    this.maxEntries = maxEntries
  }

  /**
   * The organization answering on a Host header.
   * @throws HttpError 400 for a malformed Host, 404 when no organization answers (nothing
   *   bootstrapped yet), 503 when the database is unavailable.
   */
  resolve(hostHeader: string | undefined): Promise<Organization> {
    const host = hostnameOf(hostHeader) ?? (hostHeader ? undefined : new URL(this.publicUrl).hostname)
    if (host === undefined)
      return Promise.reject(new HttpError(400, 'invalid_host', 'The Host header is malformed.'))
    const now = Date.now()
    const cached = this.entries.get(host)
    if (cached && cached.expiresAt > now) return cached.value
    const value = this.load(host)
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
    this.entries.set(host, { value, expiresAt: now + this.ttlMs })
    // A failed lookup is not cached: the next request asks again.
    value.catch(() => {
      if (this.entries.get(host)?.value === value) this.entries.delete(host)
    })
    return value
  }

  /** Drops every cached entry (a NOTIFY said the directory changed). */
  invalidate(): void {
    this.entries.clear()
  }

  private async load(host: string): Promise<Organization> {
    const row = await this.db.withoutOrganization((q) => resolveOrganizationByHost(q, host))
    if (!row) throw new HttpError(404, 'unknown_organization', 'No organization answers on this host.')
    return { ...row, issuer: issuerOf(row, this.publicUrl) }
  }
}
