/**
 * The access-token deny list as each process sees it: the jtis of an organization's revoked,
 * unexpired tokens, loaded once per TTL and extended at once by the NOTIFY each revocation
 * sends, so a revoked token is refused cluster-wide within about a second.
 */
import { notifyChange } from '../cache/invalidation.ts'
import { TtlCache } from '../cache/ttl-cache.ts'
import type { Database, Queryable } from '../db/database.ts'
import { type FamilySelector, revokeFamilies } from '../db/refresh-tokens.ts'
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

// Beyond this many jtis, one announcement without a jti makes every process reload the list.
const MAX_ANNOUNCED_ONE_BY_ONE = 10

/**
 * Announces access tokens put on the deny list by the transaction on `q`: each jti on its
 * own, or, for more than a few, one announcement that makes every process reload the list.
 */
async function announceRevokedAccessTokens(
  q: Queryable,
  organizationId: string,
  jtis: readonly string[],
): Promise<void> {
  if (jtis.length > MAX_ANNOUNCED_ONE_BY_ONE) return notifyChange(q, 'revocation', organizationId)
  for (const jti of jtis) await notifyChange(q, 'revocation', organizationId, jti)
}

/**
 * Revokes refresh-token families with the access tokens issued with them (revokeFamilies),
 * and announces those access tokens when the transaction on `q` commits.
 */
export async function revokeGrants(
  q: Queryable,
  organizationId: string,
  which: FamilySelector,
  reason: string,
): Promise<{ revoked: number; deniedJtis: string[] }> {
  const result = await revokeFamilies(q, which, reason)
  await announceRevokedAccessTokens(q, organizationId, result.deniedJtis)
  return result
}
