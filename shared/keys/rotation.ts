/**
 * The signing-key life cycle (DESIGN.md §5): next (published, not signing) → current
 * (signing) → previous (published until every token it signed has expired) → retired. A new
 * key is in the JWKS for a whole rotation period before it signs, so relying parties that
 * cache the JWKS already have it.
 */

import { notifyChange } from '../cache/invalidation.ts'
import { sealPrivateKey } from '../crypto/key-encryption.ts'
import { type AuditEvent, insertAuditEvent } from '../db/audit.ts'
import type { Database, Queryable } from '../db/database.ts'
import {
  demoteCurrentKey,
  findPublishedKeys,
  insertSigningKey,
  lockOrganizationKeys,
  promoteNextKey,
  retireExpiredKeys,
  type SigningKeyRow,
} from '../db/signing-keys.ts'
import { type GeneratedKey, generateSigningKey, SIGNING_ALGS, type SigningAlg } from './generate.ts'

/**
 * The longest any token signed here lives (access tokens: 24 h at most) plus clock skew: how
 * long a previous key stays published.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400 + 300

export interface RotationResult {
  readonly alg: SigningAlg
  /** The key that signs from now on. */
  readonly current: string
  /** The key published now to sign after the next rotation. */
  readonly next: string
}

async function insertGenerated(
  q: Queryable,
  masterKey: Buffer,
  organizationId: string,
  key: GeneratedKey,
  state: 'next' | 'current',
) {
  await insertSigningKey(q, organizationId, {
    kid: key.kid,
    alg: key.alg,
    state,
    publicJwk: key.publicJwk,
    privateKey: sealPrivateKey(masterKey, organizationId, key.kid, key.pkcs8),
  })
}

const missing = (rows: readonly SigningKeyRow[], alg: SigningAlg, state: 'next' | 'current') =>
  !rows.some((r) => r.alg === alg && r.state === state)

/**
 * Gives every algorithm a current and a next key where it lacks one (a new organization).
 * Keys are generated before the transaction, which re-checks under the organization's lock,
 * so concurrent callers create each key once.
 */
export async function ensureSigningKeys(
  db: Database,
  masterKey: Buffer,
  organizationId: string,
): Promise<boolean> {
  const before = await db.inOrganization(organizationId, findPublishedKeys)
  const wanted = SIGNING_ALGS.flatMap((alg) =>
    (['current', 'next'] as const)
      .filter((state) => missing(before, alg, state))
      .map((state) => ({ alg, state })),
  )
  if (wanted.length === 0) return false
  const generated = await Promise.all(
    wanted.map(async (w) => ({ ...w, key: await generateSigningKey(w.alg) })),
  )
  return db.inOrganization(organizationId, async (q) => {
    await lockOrganizationKeys(q, organizationId)
    const now = await findPublishedKeys(q)
    let created = false
    for (const g of generated) {
      if (!missing(now, g.alg, g.state)) continue
      await insertGenerated(q, masterKey, organizationId, g.key, g.state)
      created = true
    }
    if (created) await notifyChange(q, 'keys', organizationId)
    return created
  })
}

/**
 * Rotates the given algorithms: current → previous, next → current, and a new next.
 * @returns the kids now current and next, per algorithm.
 */
export async function rotateSigningKeys(
  db: Database,
  masterKey: Buffer,
  organizationId: string,
  actor: Pick<AuditEvent, 'actorType' | 'actorId' | 'ip' | 'userAgent' | 'requestId'>,
  algs: readonly SigningAlg[] = SIGNING_ALGS,
): Promise<RotationResult[]> {
  const fresh = await Promise.all(algs.map((alg) => generateSigningKey(alg)))
  return db.inOrganization(organizationId, async (q) => {
    await lockOrganizationKeys(q, organizationId)
    const publishUntil = new Date(Date.now() + MAX_TOKEN_LIFETIME_SECONDS * 1000)
    const results: RotationResult[] = []
    for (const [i, alg] of algs.entries()) {
      const next = fresh[i]!
      await demoteCurrentKey(q, alg, publishUntil)
      let current = await promoteNextKey(q, alg)
      if (!current) {
        // No next key to promote (it was never created): one signs at once, unpublished before.
        const spare = await generateSigningKey(alg)
        await insertGenerated(q, masterKey, organizationId, spare, 'current')
        current = spare.kid
      }
      await insertGenerated(q, masterKey, organizationId, next, 'next')
      results.push({ alg, current, next: next.kid })
    }
    await insertAuditEvent(q, organizationId, {
      ...actor,
      action: 'keys.rotated',
      targetType: 'signing_keys',
      result: 'success',
      details: { rotated: results },
    })
    await notifyChange(q, 'keys', organizationId)
    return results
  })
}

/**
 * The scheduled part: rotates algorithms whose current key has signed for `periodMs`, and
 * retires previous keys past their publication window.
 */
export async function maintainSigningKeys(
  db: Database,
  masterKey: Buffer,
  organizationId: string,
  periodMs: number,
): Promise<{ rotated: RotationResult[]; retired: string[] }> {
  const keys = await db.inOrganization(organizationId, findPublishedKeys)
  const due = SIGNING_ALGS.filter((alg) => {
    const current = keys.find((k) => k.alg === alg && k.state === 'current')
    return current?.activatedAt && Date.now() - current.activatedAt.getTime() >= periodMs
  })
  const rotated = due.length
    ? await rotateSigningKeys(
        db,
        masterKey,
        organizationId,
        { actorType: 'system', actorId: 'key-rotation' },
        due,
      )
    : []
  const retired = await db.inOrganization(organizationId, async (q) => {
    const kids = await retireExpiredKeys(q)
    if (kids.length) await notifyChange(q, 'keys', organizationId)
    return kids
  })
  return { rotated, retired }
}
