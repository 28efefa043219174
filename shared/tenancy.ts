/**
 * Tenancy (DESIGN.md §4): a request's organization comes from its Host. The default
 * organization answers on PUBLIC_URL and on every unclaimed host; every organization is its
 * own issuer. Lookups are cached in-process with a TTL (DESIGN.md §6).
 */
import { TtlCache } from './cache/ttl-cache.ts'
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

export class OrganizationDirectory {
  // Random Host headers must not grow memory without bound: the cache is bounded.
  private readonly cache: TtlCache<string, Organization>
  private readonly db: Database
  private readonly publicUrl: string

  constructor(db: Database, publicUrl: string, ttlMs = 30_000) {
    this.db = db
    this.publicUrl = publicUrl
    this.cache = new TtlCache({ ttlMs, maxEntries: 1000 })
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
    return this.cache.get(host, () => this.load(host))
  }

  /** Drops every cached entry (a NOTIFY said the directory changed). */
  invalidate(): void {
    this.cache.clear()
  }

  private async load(host: string): Promise<Organization> {
    const row = await this.db.withoutOrganization((q) => resolveOrganizationByHost(q, host))
    if (!row) throw new HttpError(404, 'unknown_organization', 'No organization answers on this host.')
    return { ...row, issuer: issuerOf(row, this.publicUrl) }
  }
}
