/**
 * Clients (applications) by client_id, cached in-process with their secret digests, so the
 * token endpoint authenticates without the database. A change NOTIFYs and drops the entry.
 */
import { TtlCache } from '../cache/ttl-cache.ts'
import {
  type Application,
  findApplicationByClientId,
  listAuthorizationDetailsTypes,
  type SecretDigest,
} from '../db/applications.ts'
import type { Database } from '../db/database.ts'

export interface Client extends Application {
  readonly secrets: readonly SecretDigest[]
  /** Registered through RFC 7591 (by anyone, under open registration), not by an administrator. */
  readonly dynamicallyRegistered: boolean
}

export class ClientDirectory {
  // Unknown client_ids are cached too (as undefined), bounded, so guessing them costs no queries.
  private readonly cache: TtlCache<string, Client | undefined>
  // Per organization: what its discovery metadata advertises (RFC 9396 §10).
  private readonly detailTypes: TtlCache<string, readonly string[]>
  private readonly db: Database

  constructor(db: Database, ttlMs: number) {
    this.db = db
    this.cache = new TtlCache({ ttlMs, maxEntries: 20_000 })
    this.detailTypes = new TtlCache({ ttlMs, maxEntries: 10_000 })
  }

  /** The authorization_details types at least one of the organization's applications accepts. */
  authorizationDetailsTypes(organizationId: string): Promise<readonly string[]> {
    return this.detailTypes.get(organizationId, () =>
      this.db.inOrganization(organizationId, listAuthorizationDetailsTypes),
    )
  }

  /** The client, or undefined for an unknown client_id or one of another organization. */
  find(organizationId: string, clientId: string): Promise<Client | undefined> {
    return this.cache.get(`${organizationId} ${clientId}`, async () => {
      const found = await this.db.inOrganization(organizationId, (q) =>
        findApplicationByClientId(q, clientId),
      )
      return (
        found && {
          ...found.application,
          secrets: found.secrets,
          dynamicallyRegistered: found.dynamicallyRegistered,
        }
      )
    })
  }

  invalidate(organizationId: string, clientId?: string): void {
    if (clientId) this.cache.delete(`${organizationId} ${clientId}`)
    else this.cache.deleteWhere((key) => key.startsWith(`${organizationId} `))
    this.detailTypes.delete(organizationId)
  }

  clear(): void {
    this.cache.clear()
    this.detailTypes.clear()
  }
}
