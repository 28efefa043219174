/**
 * The access-token deny list as each process sees it: the jtis of an organization's revoked,
 * unexpired tokens, loaded once per TTL and extended at once by the NOTIFY each revocation
 * sends, so a revoked token is refused cluster-wide within about a second.
 */
import { TtlCache } from '../cache/ttl-cache.ts'
import type { Database } from '../db/database.ts'
import { findRevokedJtis } from '../db/revocations.ts'

export class RevocationList {
  private readonly cache: TtlCache<string, Set<string>>
  private readonly db: Database

  constructor(db: Database, ttlMs: number) {
    this.db = db
    this.cache = new TtlCache({ ttlMs, maxEntries: 10_000 })
  }

  /** @throws HttpError 503 when the list cannot be loaded: a decision cannot be made. */
  async isRevoked(organizationId: string, jti: string): Promise<boolean> {
    const jtis = await this.cache.get(
      organizationId,
      async () => new Set(await this.db.inOrganization(organizationId, findRevokedJtis)),
    )
    return jtis.has(jti)
  }

  /** A revocation announced by NOTIFY. */
  add(organizationId: string, jti: string): void {
    void this.cache.peek(organizationId)?.then((jtis) => jtis.add(jti))
  }

  clear(): void {
    this.cache.clear()
  }
}
