/**
 * The access-token deny list as each process sees it: the jtis of an organization's revoked,
 * unexpired tokens, loaded once per TTL and extended at once by the NOTIFY each revocation
 * sends, so a revoked token is refused cluster-wide within about a second.
 *
 * Held in memory up to `maxHeld` jtis per organization (~65 bytes each). A client may revoke
 * every token it gets, as fast as it gets them, and each stays listed until it expires: held
 * without a bound, a busy or hostile client would grow every process's memory until the pod
 * is killed. Past the bound, the organization's tokens are looked up one by one in the
 * database (its primary key) instead, until a reload finds the list back under the bound.
 */
import { notifyChange } from '../cache/invalidation.ts'
import { TtlCache } from '../cache/ttl-cache.ts'
import type { Database, Queryable } from '../db/database.ts'
import { type FamilySelector, revokeFamilies } from '../db/refresh-tokens.ts'
import { findRevokedJtis, isJtiRevoked } from '../db/revocations.ts'
import type { Logger } from '../log.ts'

/** The jtis held in memory for one organization at most (~3 MB). */
export const DENY_LIST_MAX_HELD = 50_000

/** An organization's deny list: its jtis, or null when there are too many to hold. */
type DenyList = Set<string> | null

export class RevocationList {
  private readonly cache: TtlCache<string, DenyList>
  private readonly db: Database
  private readonly maxHeld: number
  private readonly log: Logger | undefined

  constructor(db: Database, ttlMs: number, options: { maxHeld?: number; log?: Logger } = {}) {
    this.db = db
    this.cache = new TtlCache({ ttlMs, maxEntries: 10_000 })
    this.maxHeld = options.maxHeld ?? DENY_LIST_MAX_HELD
    this.log = options.log
  }

  /** @throws HttpError 503 when the list cannot be read: a decision cannot be made. */
  async isRevoked(organizationId: string, jti: string): Promise<boolean> {
    const list = await this.cache.get(organizationId, () => this.load(organizationId))
    if (list) return list.has(jti)
    // One statement, one round trip (no BEGIN/COMMIT): both queries here only read.
    return isJtiRevoked(this.db.statements(organizationId), jti)
  }

  private async load(organizationId: string): Promise<DenyList> {
    const jtis = await findRevokedJtis(this.db.statements(organizationId), this.maxHeld + 1)
    if (jtis.length <= this.maxHeld) return new Set(jtis)
    this.log?.warn(
      { organizationId, maxHeld: this.maxHeld },
      'access-token deny list too long to hold: each token is looked up in the database',
    )
    return null
  }

  /** A revocation announced by NOTIFY. */
  add(organizationId: string, jti: string): void {
    void this.cache.peek(organizationId)?.then((list) => {
      if (!list) return
      list.add(jti)
      // Over the bound: dropped, and the next check loads the list afresh (and finds it long).
      if (list.size > this.maxHeld) this.cache.delete(organizationId)
    })
  }

  /** Drops an organization's list (a revocation of many tokens): the next check loads it. */
  forget(organizationId: string): void {
    this.cache.delete(organizationId)
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
