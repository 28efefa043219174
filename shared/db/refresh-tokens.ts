/** SQL for refresh tokens and their families. */
import type { Queryable } from './database.ts'
import { type CounterAfterHit, rateLimitHitSql } from './rate-limits.ts'

export interface RefreshFamily {
  readonly id: string
  readonly clientId: string
  readonly userId: string
  readonly sessionId: string | null
  readonly scope: readonly string[]
  readonly resource: readonly string[] | null
  readonly authorizationDetails: unknown[] | null
  readonly authTime: Date
  readonly amr: readonly string[]
  readonly acr: string | null
  readonly expiresAt: Date
}

interface FamilyRecord {
  id: string
  client_id: string
  user_id: string
  session_id: string | null
  scope: string[]
  resource: string[] | null
  authorization_details: unknown[] | null
  auth_time: Date
  amr: string[]
  acr: string | null
  expires_at: Date
}

const toFamily = (r: FamilyRecord): RefreshFamily => ({
  id: r.id,
  clientId: r.client_id,
  userId: r.user_id,
  sessionId: r.session_id,
  scope: r.scope,
  resource: r.resource,
  authorizationDetails: r.authorization_details,
  authTime: r.auth_time,
  amr: r.amr,
  acr: r.acr,
  expiresAt: r.expires_at,
})

/**
 * A new family with its first token in one statement. With `code`, the family is issued under
 * that authorization code: it is created only while the code still records the access token
 * its exchange issued (a replay takes that off, takeCodeIssuance), and the code records the
 * family, so a later replay revokes it. Undefined when the code no longer qualifies.
 */
export async function insertRefreshFamilyWithToken(
  q: Queryable,
  organizationId: string,
  f: Omit<RefreshFamily, 'id' | 'expiresAt'> & {
    absoluteSeconds: number
    idleSeconds: number
    tokenDigest: Buffer
    code?: {
      readonly digest: Buffer
      readonly accessTokenJti: string
      /** The expiry of that access token, recorded with the refresh token it comes with. */
      readonly accessTokenExpiresAt: Date
    }
  },
): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>(
    `WITH code AS (
       SELECT code_digest FROM authorization_codes WHERE code_digest = $14 AND issued_access_token_jti = $15 FOR UPDATE
     ), family AS (
       INSERT INTO refresh_token_families (organization_id, client_id, user_id, session_id, scope, resource,
         authorization_details, auth_time, amr, acr, expires_at)
       SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() + make_interval(secs => $11)
        WHERE $14::bytea IS NULL OR EXISTS (SELECT 1 FROM code)
       RETURNING id, expires_at
     ), token AS (
       INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at,
         access_token_jti, access_token_expires_at)
       SELECT $12, $1, family.id, least(family.expires_at, now() + make_interval(secs => $13)), $15, $16 FROM family
     ), attach AS (
       UPDATE authorization_codes c SET issued_refresh_family_id = family.id FROM family, code
        WHERE c.code_digest = code.code_digest
     )
     SELECT id FROM family`,
    [
      organizationId,
      f.clientId,
      f.userId,
      f.sessionId,
      f.scope,
      f.resource,
      f.authorizationDetails === null ? null : JSON.stringify(f.authorizationDetails),
      f.authTime,
      f.amr,
      f.acr,
      f.absoluteSeconds,
      f.tokenDigest,
      f.idleSeconds,
      f.code?.digest ?? null,
      f.code?.accessTokenJti ?? null,
      f.code?.accessTokenExpiresAt ?? null,
    ],
  )
  return rows[0]?.id
}

// One hit on the rate limit of the family of the token the statement consumed (`used`).
const FAMILY_HIT = rateLimitHitSql(
  `(SELECT organization_id AS o, 'refresh:' || id AS k FROM used) AS hits`,
  '$5',
)

export type RefreshLookup =
  | {
      readonly state: 'valid'
      readonly family: RefreshFamily
      readonly userActive: boolean
      /** The family's rate-limit counter (`refresh:<family id>`) after this use. */
      readonly hit: CounterAfterHit
    }
  | { readonly state: 'reused'; readonly family: RefreshFamily }
  | { readonly state: 'invalid' }

/**
 * Consumes a refresh token atomically. A token rotated away before (consumed) is a reuse:
 * its family is reported so the caller revokes all of it. Says too whether the family's user
 * is still active, saving the caller a round trip. The same statement stores the successor
 * (`rotation`) of a token it consumes and counts the use on the family's rate limit (a window
 * of `rotation.limitWindowSeconds`): a refusal after it rolls all three back, or revokes the
 * family, successor included.
 *
 * The usable token is consumed by its UPDATE alone, which locks and changes the row in one
 * step. Only when that finds nothing does a second statement say why. A concurrent use of the
 * same token waits on the row in the UPDATE until the first use commits (or rolls back, and
 * then this one consumes it); the second statement runs after that, so it sees the token
 * consumed and reports the reuse.
 */
export async function consumeRefreshToken(
  q: Queryable,
  tokenDigest: Buffer,
  clientId: string,
  rotation: {
    readonly nextDigest: Buffer
    readonly idleSeconds: number
    readonly limitWindowSeconds: number
    /** The access token issued with the successor, recorded with it (revokeFamilies). */
    readonly accessTokenJti: string
    readonly accessTokenExpiresAt: Date
  },
): Promise<RefreshLookup> {
  const { rows } = await q.query<FamilyRecord & { user_active: boolean } & Partial<CounterAfterHit>>(
    `WITH used AS (
       UPDATE refresh_tokens r SET consumed_at = now() FROM refresh_token_families f
        WHERE r.token_digest = $1 AND r.consumed_at IS NULL AND r.idle_expires_at > now()
          AND f.id = r.family_id AND f.client_id = $2 AND f.expires_at > now() AND f.revoked_at IS NULL
       RETURNING f.*
     ), next AS (
       INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at,
         access_token_jti, access_token_expires_at)
       SELECT $3, organization_id, id, least(expires_at, now() + make_interval(secs => $4)), $6, $7 FROM used
     ), hit AS (
       ${FAMILY_HIT}
     )
     SELECT used.*, coalesce(u.is_active, false) AS user_active, hit.count, hit.previous, hit.elapsed
       FROM used LEFT JOIN users u ON u.id = used.user_id LEFT JOIN hit ON true`,
    [
      tokenDigest,
      clientId,
      rotation.nextDigest,
      rotation.idleSeconds,
      rotation.limitWindowSeconds,
      rotation.accessTokenJti,
      rotation.accessTokenExpiresAt,
    ],
  )
  const r = rows[0]
  if (r) {
    if (r.count === undefined || r.count === null) return { state: 'invalid' }
    const hit = { count: r.count, previous: r.previous!, elapsed: r.elapsed! }
    return { state: 'valid', family: toFamily(r), userActive: r.user_active, hit }
  }
  // Not usable: unknown, another client's, expired, revoked, or rotated away before (a reuse).
  const { rows: found } = await q.query<FamilyRecord & { consumed: boolean }>(
    `SELECT f.*, r.consumed_at IS NOT NULL AS consumed
       FROM refresh_tokens r JOIN refresh_token_families f ON f.id = r.family_id WHERE r.token_digest = $1`,
    [tokenDigest],
  )
  const f = found[0]
  // A token of another client says nothing: just invalid.
  if (!f || f.client_id !== clientId || !f.consumed) return { state: 'invalid' }
  return { state: 'reused', family: toFamily(f) }
}

/** A refresh token as revocation and introspection see it: its family, whatever its state. */
export interface RefreshTokenRecord {
  readonly family: RefreshFamily
  /** Usable now: not rotated away, not idle past its expiry, its family neither expired nor revoked. */
  readonly active: boolean
  readonly issuedAt: Date
  /** When it stops working unless used: its idle expiry, within the family's absolute one. */
  readonly expiresAt: Date
}

export async function findRefreshToken(
  q: Queryable,
  tokenDigest: Buffer,
): Promise<RefreshTokenRecord | undefined> {
  const { rows } = await q.query<FamilyRecord & { active: boolean; issued_at: Date; token_expires_at: Date }>(
    `SELECT f.*, r.created_at AS issued_at, least(r.idle_expires_at, f.expires_at) AS token_expires_at,
            (r.consumed_at IS NULL AND r.idle_expires_at > now() AND f.expires_at > now() AND f.revoked_at IS NULL) AS active
       FROM refresh_tokens r JOIN refresh_token_families f ON f.id = r.family_id WHERE r.token_digest = $1`,
    [tokenDigest],
  )
  const r = rows[0]
  return r && { family: toFamily(r), active: r.active, issuedAt: r.issued_at, expiresAt: r.token_expires_at }
}

/** Which grants to revoke: one refresh-token family, those of sessions, or a user's (of one client). */
export type FamilySelector =
  | { readonly familyId: string }
  | { readonly sessionIds: readonly string[] }
  | { readonly userId: string; readonly clientId?: string }

/**
 * Revokes the live families `which` selects and, in the same statement, puts on the deny list
 * the unexpired access tokens of the same grants (RFC 7009 §2.1: revoking a refresh token
 * should invalidate the access tokens of the same grant): those issued with their refresh
 * tokens and, for sessions or a user, those their authorization codes were exchanged for,
 * which covers the grants that never had a refresh token (no offline_access). A code is kept
 * a day past its expiry (reapExpired), longer than the longest access token lifetime, so every
 * such token is found. Returns how many families were live until now and the jtis newly
 * denied, which the caller announces (revokeGrants in shared/oauth/revocation-list.ts does both).
 */
export async function revokeFamilies(
  q: Queryable,
  which: FamilySelector,
  reason: string,
): Promise<{ revoked: number; deniedJtis: string[] }> {
  const [where, values] =
    'familyId' in which
      ? ['id = $2', [which.familyId]]
      : 'sessionIds' in which
        ? ['session_id = ANY($2)', [which.sessionIds]]
        : which.clientId === undefined
          ? ['user_id = $2', [which.userId]]
          : ['user_id = $2 AND client_id = $3', [which.userId, which.clientId]]
  // The codes: the same condition as the families (both tables have these columns), found
  // through the sessions' users for the codes' index on user_id; none for one family, whose
  // first access token is recorded with its first refresh token.
  const codes =
    'familyId' in which
      ? 'false'
      : 'sessionIds' in which
        ? `user_id IN (SELECT user_id FROM sessions WHERE id = ANY($2)) AND ${where}`
        : where
  const { rows } = await q.query<{ revoked: number; denied: string[] }>(
    `WITH families AS (
       UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $1
        WHERE ${where} AND revoked_at IS NULL RETURNING id
     ), denied AS (
       INSERT INTO revoked_access_tokens (organization_id, jti, expires_at)
       SELECT organization_id, access_token_jti, access_token_expires_at FROM refresh_tokens
        WHERE family_id IN (SELECT id FROM families) AND access_token_jti IS NOT NULL
          AND access_token_expires_at > now()
       UNION
       SELECT organization_id, issued_access_token_jti, issued_access_token_expires_at FROM authorization_codes
        WHERE ${codes} AND issued_access_token_jti IS NOT NULL AND issued_access_token_expires_at > now()
       ON CONFLICT (organization_id, jti) DO NOTHING
       RETURNING jti
     )
     SELECT (SELECT count(*) FROM families)::int AS revoked, ARRAY(SELECT jti FROM denied) AS denied`,
    [reason, ...values],
  )
  return { revoked: rows[0]!.revoked, deniedJtis: rows[0]!.denied }
}
