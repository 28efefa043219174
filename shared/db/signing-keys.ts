/** SQL for signing_keys. */
import type { JWK } from 'jose'
import type { SigningAlg } from '../keys/generate.ts'
import type { Queryable } from './database.ts'

export type KeyState = 'next' | 'current' | 'previous' | 'retired'

export interface SigningKeyRow {
  readonly kid: string
  readonly alg: SigningAlg
  readonly state: KeyState
  readonly publicJwk: JWK
  readonly privateKey: Buffer | null
  readonly activatedAt: Date | null
  readonly publishUntil: Date | null
}

interface Record_ {
  kid: string
  alg: SigningAlg
  state: KeyState
  public_jwk: JWK
  private_key: Buffer | null
  activated_at: Date | null
  publish_until: Date | null
}

const toRow = (r: Record_): SigningKeyRow => ({
  kid: r.kid,
  alg: r.alg,
  state: r.state,
  publicJwk: r.public_jwk,
  privateKey: r.private_key,
  activatedAt: r.activated_at,
  publishUntil: r.publish_until,
})

const COLUMNS = 'kid, alg, state, public_jwk, private_key, activated_at, publish_until'

/** Keys published in the JWKS: next, current and previous ones. */
export async function findPublishedKeys(q: Queryable): Promise<SigningKeyRow[]> {
  const { rows } = await q.query<Record_>(
    `SELECT ${COLUMNS} FROM signing_keys WHERE state IN ('next', 'current', 'previous')
      ORDER BY CASE state WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END, created_at DESC`,
  )
  return rows.map(toRow)
}

/** Serializes key changes of one organization for the rest of the transaction. */
export async function lockOrganizationKeys(q: Queryable, organizationId: string): Promise<void> {
  await q.query("SELECT pg_advisory_xact_lock(hashtextextended('zenoauth:keys:' || $1, 0))", [organizationId])
}

export async function insertSigningKey(
  q: Queryable,
  organizationId: string,
  key: { kid: string; alg: SigningAlg; state: 'next' | 'current'; publicJwk: JWK; privateKey: Buffer },
): Promise<void> {
  await q.query(
    `INSERT INTO signing_keys (organization_id, kid, alg, state, public_jwk, private_key, activated_at)
     VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $4 = 'current' THEN now() END)`,
    [organizationId, key.kid, key.alg, key.state, key.publicJwk, key.privateKey],
  )
}

/** current → previous (published until `publishUntil`), for one algorithm. */
export async function demoteCurrentKey(q: Queryable, alg: SigningAlg, publishUntil: Date): Promise<void> {
  await q.query(
    `UPDATE signing_keys SET state = 'previous', deactivated_at = now(), publish_until = $2
      WHERE alg = $1 AND state = 'current'`,
    [alg, publishUntil],
  )
}

/** next → current, for one algorithm; returns its kid, if there was a next key. */
export async function promoteNextKey(q: Queryable, alg: SigningAlg): Promise<string | undefined> {
  const { rows } = await q.query<{ kid: string }>(
    `UPDATE signing_keys SET state = 'current', activated_at = now()
      WHERE alg = $1 AND state = 'next' RETURNING kid`,
    [alg],
  )
  return rows[0]?.kid
}

/** previous keys past their publication window: retired, private key erased. */
export async function retireExpiredKeys(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ kid: string }>(
    `UPDATE signing_keys SET state = 'retired', private_key = NULL, retired_at = now()
      WHERE state = 'previous' AND publish_until <= now() RETURNING kid`,
  )
  return rows.map((r) => r.kid)
}
