/** SQL for refresh tokens and their families. */
import { type BatchedStatement, byPosition, itemsParameter } from './batch.ts'
import type { Queryable, TenantDatabase } from './database.ts'
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

/** The columns of FamilyRecord: what the hot rotation returns of a family, and no more. */
const FAMILY_COLUMNS = [
  'id',
  'client_id',
  'user_id',
  'session_id',
  'scope',
  'resource',
  'authorization_details',
  'auth_time',
  'amr',
  'acr',
  'expires_at',
] as const satisfies readonly (keyof FamilyRecord)[]

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

/** The window of the per-family rate limit on uses: uses per minute (DESIGN.md §7). */
export const REFRESH_RATE_WINDOW_SECONDS = 60

/** Why a usable refresh token was not rotated; the caller answers in this order. */
export type RefreshRefusal = 'rate' | 'scope' | 'resource' | 'inactive'

export type RefreshLookup =
  | {
      /** Consumed, and its successor stored, in the statement's own transaction. */
      readonly state: 'rotated'
      readonly family: RefreshFamily
      /** The family's rate-limit counter (`refresh:<family id>`) after this use. */
      readonly hit: CounterAfterHit
    }
  | {
      /** Usable, but not rotated: the token is left as it was; `reasons` say why, in order. */
      readonly state: 'refused'
      readonly family: RefreshFamily
      readonly reasons: readonly RefreshRefusal[]
      readonly hit: CounterAfterHit
    }
  | { readonly state: 'reused'; readonly family: RefreshFamily }
  | { readonly state: 'invalid' }

/** One use of a refresh token: the token, who presents it, and what replaces it. */
export interface Rotation {
  readonly tokenDigest: Buffer
  readonly clientId: string
  readonly nextDigest: Buffer
  readonly idleSeconds: number
  /** Uses allowed per REFRESH_RATE_WINDOW_SECONDS on the family. */
  readonly perMinute: number
  /** The scope asked for (empty: the grant's) and the resources (empty: the grant's). */
  readonly scope: readonly string[]
  readonly resource: readonly string[]
  /** The access token issued with the successor, recorded with it (revokeFamilies). */
  readonly accessTokenJti: string
  readonly accessTokenExpiresAt: Date
}

/** What the rotation statement found for one Rotation: nothing when no usable token. */
export type RotationRecord =
  | (FamilyRecord &
      CounterAfterHit & {
        user_active: boolean
        within_limit: boolean
        scope_ok: boolean
        resource_ok: boolean
        rotated: boolean
      })
  | undefined

// One hit on the rate limit of each family whose usable token the statement found (`t`).
const FAMILY_HIT = rateLimitHitSql(
  `(SELECT DISTINCT organization_id AS o, 'refresh:' || id AS k FROM t) AS hits`,
  '$2',
)

/**
 * Rotates refresh tokens, many at once, in one statement, which is its own transaction. For
 * each Rotation it finds the token usable (not consumed, inside its idle and its family's
 * absolute lifetime, family not revoked, issued to `clientId`), counts the use on the
 * family's rate limit, and only when the use is within `perMinute`, asks for no scope or
 * resource beyond the grant's, and the user is active, consumes it and stores its successor.
 * A refusal leaves the token as it was (the hit stands: a caller that should not count a
 * refused use takes it back, takeBackHit).
 *
 * The items come as one JSON array (`n` their position), their family and user are found
 * by key for each (LATERAL, scalar subqueries), the consume finds each token by the digest
 * `t` carries (a plain column: an expression of the JSON there, or the digests as an array,
 * led the planner to read every token of the family per item), and one usable token per family exists at a
 * time, so no two items hit one counter; the same token twice must not share a batch
 * (refreshRotation.keyOf).
 *
 * The family is read FOR SHARE, against a revocation (revokeFamilies) at the same moment: a
 * rotation under way holds the row until it commits, and the revocation, waiting for it, then
 * finds the successor and its access token. A revocation under way holds the row too, and the
 * rotation skips the family (SKIP LOCKED), so the token is refused at once, as it would be
 * once the revocation commits: a rotation never waits for a family, so a batch holding some
 * families cannot deadlock with a revocation holding others (a user's, in another order).
 */
const ROTATE_SQL = `WITH i AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(n int, digest text, client_id text, next_digest text,
    idle_seconds float8, per_minute float8, scope jsonb, resource jsonb, jti text, jti_expires_at timestamptz)
), t AS (
  SELECT i.n, decode(i.digest, 'hex') AS token_digest, f.*, coalesce((SELECT u.is_active FROM users u WHERE u.id = f.user_id), false) AS user_active
    FROM i CROSS JOIN LATERAL (
      SELECT f.* FROM refresh_token_families f
       WHERE f.id = (SELECT r.family_id FROM refresh_tokens r
                      WHERE r.token_digest = decode(i.digest, 'hex') AND r.consumed_at IS NULL
                        AND r.idle_expires_at > now())
         AND f.client_id = i.client_id AND f.expires_at > now() AND f.revoked_at IS NULL
         FOR SHARE SKIP LOCKED
    ) f
), hit AS (
  ${FAMILY_HIT}
), checks AS (
  SELECT t.n,
         hit.count + hit.previous * greatest(0, 1 - hit.elapsed / $2::float8) <= i.per_minute AS within_limit,
         ARRAY(SELECT jsonb_array_elements_text(i.scope)) <@ t.scope AS scope_ok,
         (jsonb_array_length(i.resource) = 0 OR coalesce(cardinality(t.resource), 0) = 0
           OR ARRAY(SELECT jsonb_array_elements_text(i.resource)) <@ t.resource) AS resource_ok
    FROM t JOIN i ON i.n = t.n JOIN hit ON hit.key = 'refresh:' || t.id
), used AS (
  UPDATE refresh_tokens r SET consumed_at = now()
    FROM t JOIN checks ON checks.n = t.n
   WHERE r.token_digest = t.token_digest AND r.family_id = t.id
     AND r.consumed_at IS NULL
     AND checks.within_limit AND checks.scope_ok AND checks.resource_ok AND t.user_active
  RETURNING t.n
), next AS (
  INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at,
    access_token_jti, access_token_expires_at)
  SELECT decode(i.next_digest, 'hex'), t.organization_id, t.id,
         least(t.expires_at, now() + make_interval(secs => i.idle_seconds)), i.jti, i.jti_expires_at
    FROM used JOIN t ON t.n = used.n JOIN i ON i.n = used.n
)
SELECT t.n, ${FAMILY_COLUMNS.map((c) => `t.${c}`).join(', ')}, t.user_active,
       hit.count, hit.previous, hit.elapsed, checks.within_limit, checks.scope_ok, checks.resource_ok,
       EXISTS (SELECT 1 FROM used WHERE used.n = t.n) AS rotated
  FROM t JOIN checks ON checks.n = t.n JOIN hit ON hit.key = 'refresh:' || t.id`

/**
 * The rotation of refresh tokens as a batched statement (Database.batched): the uses of
 * refresh tokens that arrive together go in one statement. Each item's record, or undefined
 * when its token was not usable.
 */
export const refreshRotation: BatchedStatement<Rotation, RotationRecord> = {
  name: 'refresh_token_rotation',
  keyOf: (r) => r.tokenDigest.toString('hex'),
  async run(query, rotations) {
    const items = rotations.map((r, n) => ({
      n,
      digest: r.tokenDigest.toString('hex'),
      client_id: r.clientId,
      next_digest: r.nextDigest.toString('hex'),
      idle_seconds: r.idleSeconds,
      per_minute: r.perMinute,
      scope: r.scope,
      resource: r.resource,
      jti: r.accessTokenJti,
      jti_expires_at: r.accessTokenExpiresAt.toISOString(),
    }))
    const { rows } = await query<NonNullable<RotationRecord> & { n: number }>(ROTATE_SQL, [
      itemsParameter(items, 'digest'),
      REFRESH_RATE_WINDOW_SECONDS,
    ])
    return byPosition(rotations.length, rows, (row) => row)
  },
}

/**
 * Rotates a refresh token: one use of it, in the next of the organization's batches of
 * refreshRotation (see consumeRefreshToken for what can become of it).
 */
export function rotateRefreshToken(db: TenantDatabase, rotation: Rotation): Promise<RefreshLookup> {
  return consumeRefreshToken(db, rotation, (r) => db.batched(refreshRotation, r))
}

/**
 * What became of one use of a refresh token, rotated by `rotate` (rotateRefreshToken passes
 * the organization's batches of refreshRotation).
 *
 * When no usable token was found, a second statement says why: a token rotated away before
 * is a reuse, reported with its family so the caller revokes all of it. A concurrent use of
 * the same token (in another batch: refreshRotation.keyOf, or another process) waits on the
 * row in the UPDATE until the first use commits (or rolls back, and then this one consumes
 * it) and, finding it consumed, takes the same path: a reuse.
 */
export async function consumeRefreshToken(
  q: Queryable,
  rotation: Rotation,
  rotate: (r: Rotation) => Promise<RotationRecord>,
): Promise<RefreshLookup> {
  const r = await rotate(rotation)
  if (r) {
    const hit = { count: r.count, previous: r.previous, elapsed: r.elapsed }
    if (r.rotated) return { state: 'rotated', family: toFamily(r), hit }
    const reasons: RefreshRefusal[] = []
    if (!r.within_limit) reasons.push('rate')
    if (!r.scope_ok) reasons.push('scope')
    if (!r.resource_ok) reasons.push('resource')
    if (!r.user_active) reasons.push('inactive')
    if (reasons.length > 0) return { state: 'refused', family: toFamily(r), reasons, hit }
    // Usable when the statement began, consumed by a concurrent use before its UPDATE: a reuse.
  }
  // Not usable: unknown, another client's, expired, revoked, or rotated away before (a reuse).
  const found = await findRefreshToken(q, rotation.tokenDigest)
  // A token of another client says nothing: just invalid.
  if (!found || found.family.clientId !== rotation.clientId || !found.consumed) return { state: 'invalid' }
  return { state: 'reused', family: found.family }
}

/** A refresh token as revocation and introspection see it: its family, whatever its state. */
export interface RefreshTokenRecord {
  readonly family: RefreshFamily
  /** Usable now: not rotated away, not idle past its expiry, its family neither expired nor revoked. */
  readonly active: boolean
  /** Rotated away: presenting it again is a reuse. */
  readonly consumed: boolean
  readonly issuedAt: Date
  /** When it stops working unless used: its idle expiry, within the family's absolute one. */
  readonly expiresAt: Date
}

export async function findRefreshToken(
  q: Queryable,
  tokenDigest: Buffer,
): Promise<RefreshTokenRecord | undefined> {
  const { rows } = await q.query<
    FamilyRecord & { active: boolean; consumed: boolean; issued_at: Date; token_expires_at: Date }
  >(
    `SELECT f.*, r.created_at AS issued_at, least(r.idle_expires_at, f.expires_at) AS token_expires_at,
            r.consumed_at IS NOT NULL AS consumed,
            (r.consumed_at IS NULL AND r.idle_expires_at > now() AND f.expires_at > now() AND f.revoked_at IS NULL) AS active
       FROM refresh_tokens r JOIN refresh_token_families f ON f.id = r.family_id WHERE r.token_digest = $1`,
    [tokenDigest],
  )
  const r = rows[0]
  return (
    r && {
      family: toFamily(r),
      active: r.active,
      consumed: r.consumed,
      issuedAt: r.issued_at,
      expiresAt: r.token_expires_at,
    }
  )
}

/** `sql` with each parameter number $n moved by `by`. */
const renumber = (sql: string, by: number): string =>
  sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + by}`)

/** Which grants to revoke: one refresh-token family, those of sessions, or a user's (of one client). */
export type FamilySelector =
  | { readonly familyId: string }
  | { readonly sessionIds: readonly string[] }
  | { readonly userId: string; readonly clientId?: string }

/**
 * Revokes the live families `which` selects, expires the same grants' codes not yet exchanged
 * (for sessions or a user), and then, in the same transaction, puts on the deny list the
 * unexpired access tokens of the same grants (RFC 7009 §2.1: revoking a refresh token
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
  const families = await q.query<{ id: string }>(
    `UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $1
      WHERE ${where} AND revoked_at IS NULL RETURNING id`,
    [reason, ...values],
  )
  if (!('familyId' in which)) {
    // The grants' codes not yet exchanged expire: an hour ago, since an exchange that began
    // before this transaction compares the expiry with its own, earlier now() (not -infinity,
    // which PostgreSQL before 17 cannot subtract from). An exchange under way holds its code's
    // row: this waits for it to commit, and the access token it issued is denied below; one
    // that comes later waits for this transaction, then finds its code expired
    // (codeConsumption). The rows are locked in the order of their digests, the order a
    // consume batch locks its codes in: taken in the table's order, a user's two codes in one
    // batch could each be held by one side and awaited by the other (a deadlock).
    await q.query(
      `UPDATE authorization_codes c SET expires_at = now() - interval '1 hour'
         FROM (SELECT code_digest FROM authorization_codes
                WHERE ${renumber(codes, -1)} AND consumed_at IS NULL AND expires_at > now()
                ORDER BY code_digest FOR UPDATE) pending
        WHERE c.code_digest = pending.code_digest`,
      values,
    )
  }
  // A second statement, with a snapshot of its own: a rotation that held a family's row
  // (refreshRotation reads it FOR SHARE) or an exchange that held a code's has committed by
  // now, and the access token it issued is here to deny.
  const ids = families.rows.map((r) => r.id)
  const denied = await q.query<{ jti: string }>(
    `INSERT INTO revoked_access_tokens (organization_id, jti, expires_at)
     SELECT organization_id, access_token_jti, access_token_expires_at FROM refresh_tokens
      WHERE family_id = ANY($1::uuid[]) AND access_token_jti IS NOT NULL AND access_token_expires_at > now()
     UNION
     SELECT organization_id, issued_access_token_jti, issued_access_token_expires_at FROM authorization_codes
      WHERE ${codes} AND issued_access_token_jti IS NOT NULL
        AND issued_access_token_expires_at > now()
     ON CONFLICT (organization_id, jti) DO NOTHING
     RETURNING jti`,
    // The selector's values keep their numbers ($2, $3) after the families' ids.
    'familyId' in which ? [ids] : [ids, ...values],
  )
  return { revoked: ids.length, deniedJtis: denied.rows.map((r) => r.jti) }
}
