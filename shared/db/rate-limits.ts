/** SQL for rate limits (sliding windows) and failed-login lockout, in PostgreSQL (DESIGN.md §7). */
import type { Queryable } from './database.ts'

/**
 * Counts one hit of `key` and returns the hits in the last `windowSeconds` (a sliding window:
 * the previous fixed window's count weighted by its share of the last `windowSeconds`, plus
 * the current window's) and, for a caller over `limit`, the seconds until a hit is allowed.
 */
/** A counter after a hit: its weighted count and the seconds until one more would fit. */
export interface RateLimitHit {
  readonly count: number
  readonly retryAfter: number
}

export async function hitRateLimit(
  q: Queryable,
  organizationId: string,
  key: string,
  windowSeconds: number,
  limit = Number.POSITIVE_INFINITY,
): Promise<RateLimitHit> {
  const [result] = await hitRateLimits(q, organizationId, [{ key, limit }], windowSeconds)
  return result!
}

/**
 * Several counters (distinct keys) of one window length, in one statement: one round trip
 * for, say, a sign-in's per-IP and per-account limits. Results in the order of `hits`.
 */
export async function hitRateLimits(
  q: Queryable,
  organizationId: string,
  hits: readonly { readonly key: string; readonly limit?: number }[],
  windowSeconds: number,
): Promise<RateLimitHit[]> {
  const { rows } = await q.query<CounterAfterHit & { key: string }>(
    rateLimitHitSql('(SELECT $1::uuid AS o, k FROM unnest($2::text[]) AS k) AS hits', '$3'),
    [organizationId, hits.map((h) => h.key), windowSeconds],
  )
  const byKey = new Map(rows.map((r) => [r.key, r]))
  return hits.map(({ key, limit }) => weighHit(byKey.get(key)!, windowSeconds, limit))
}

/** A counter's row as a hit leaves it. */
export interface CounterAfterHit {
  /** Hits in the current window, this one included. */
  readonly count: number
  /** Hits in the window before it. */
  readonly previous: number
  /** Seconds since the current window began. */
  readonly elapsed: number
}

/** The SQL of the start of the current fixed window of `window` seconds (SQL: a parameter). */
const windowStartSql = (window: string) =>
  `to_timestamp(floor(extract(epoch FROM now()) / ${window}) * ${window})`

/**
 * The SQL of one hit on each counter that `source` names: a FROM item with an organization
 * id `o` and a key `k` per row. `window` is the SQL of the window's length in seconds (a
 * parameter). Returns key, count, previous and elapsed (CounterAfterHit), so a statement that
 * hits a counter as it does something else (a refresh token's rotation) can weigh the hit.
 */
export function rateLimitHitSql(source: string, window: string): string {
  // In SET, c.* are the values before this hit.
  return `INSERT INTO rate_limit_counters AS c (organization_id, key, window_start, count, previous_count)
     SELECT o, k, ${windowStartSql(window)}, 1, 0 FROM ${source}
     ON CONFLICT (organization_id, key) DO UPDATE
       SET previous_count = CASE
             WHEN c.window_start = EXCLUDED.window_start THEN c.previous_count
             WHEN c.window_start = EXCLUDED.window_start - make_interval(secs => ${window}) THEN c.count
             ELSE 0 END,
           count = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.count + 1 ELSE 1 END,
           window_start = EXCLUDED.window_start
     RETURNING key, count, previous_count AS previous, extract(epoch FROM now() - window_start)::float8 AS elapsed`
}

/**
 * Takes back one hit of `key` counted in the current window of `windowSeconds`, for a use
 * that was refused after its hit and should not count against the limit. A window that has
 * turned since keeps the hit (as its previous window's count).
 */
export async function takeBackHit(
  q: Queryable,
  organizationId: string,
  key: string,
  windowSeconds: number,
): Promise<void> {
  await q.query(
    `UPDATE rate_limit_counters SET count = count - 1
      WHERE organization_id = $1 AND key = $2 AND count > 0
        AND window_start = ${windowStartSql('$3')}`,
    [organizationId, key, windowSeconds],
  )
}

/**
 * A hit's weighted count over the last `windowSeconds` (the previous window's count weighted by
 * its share of them, plus the current window's) and, over `limit`, the wait until one fits.
 */
export function weighHit(
  { count, previous, elapsed }: CounterAfterHit,
  windowSeconds: number,
  limit = Number.POSITIVE_INFINITY,
): RateLimitHit {
  const weight = Math.max(0, 1 - elapsed / windowSeconds)
  return {
    count: count + previous * weight,
    retryAfter: retryAfter(count, previous, elapsed, windowSeconds, limit),
  }
}

/**
 * Seconds until one more hit fits under `limit`: later in this window, once the previous
 * window's weight has fallen far enough, or in the next one, where this window's count is the
 * previous count still weighing at its start. At least 1.
 */
function retryAfter(count: number, previous: number, elapsed: number, window: number, limit: number): number {
  if (!Number.isFinite(limit)) return Math.max(1, Math.ceil(window - elapsed))
  if (count + 1 <= limit && previous > 0) {
    const t = window * (1 - (limit - count - 1) / previous) - elapsed
    if (elapsed + t <= window) return Math.max(1, Math.ceil(t))
  }
  const intoNext = count > 0 ? Math.max(0, window * (1 - (limit - 1) / count)) : 0
  return Math.max(1, Math.ceil(window - elapsed + intoNext))
}

/**
 * Records a failed login; from the `threshold`th failure on, locks for a doubling period
 * (base, 2×base, 4×base …, at most maxSeconds). Returns the lock set, if any.
 */
export async function recordLoginFailure(
  q: Queryable,
  organizationId: string,
  emailDigest: Buffer,
  policy: { threshold: number; baseSeconds: number; maxSeconds: number },
): Promise<{ failures: number; lockedUntil: Date | null }> {
  const { rows } = await q.query<{ failures: number; locked_until: Date | null }>(
    `INSERT INTO login_failures AS f (organization_id, email_digest, failures, last_failure_at) VALUES ($1, $2, 1, now())
     ON CONFLICT (organization_id, email_digest) DO UPDATE
       SET failures = f.failures + 1, last_failure_at = now()
     RETURNING failures, locked_until`,
    [organizationId, emailDigest],
  )
  const failures = rows[0]!.failures
  if (failures < policy.threshold) return { failures, lockedUntil: null }
  const seconds = Math.min(policy.maxSeconds, policy.baseSeconds * 2 ** (failures - policy.threshold))
  const { rows: locked } = await q.query<{ locked_until: Date }>(
    `UPDATE login_failures SET locked_until = now() + make_interval(secs => $2) WHERE email_digest = $1 RETURNING locked_until`,
    [emailDigest, seconds],
  )
  return { failures, lockedUntil: locked[0]!.locked_until }
}

export async function clearLoginFailures(q: Queryable, emailDigest: Buffer): Promise<void> {
  await q.query('DELETE FROM login_failures WHERE email_digest = $1', [emailDigest])
}

export async function insertRegistrationToken(
  q: Queryable,
  organizationId: string,
  digest: Buffer,
  uses: number,
  expiresAt: Date,
): Promise<void> {
  await q.query(
    'INSERT INTO registration_tokens (organization_id, token_digest, uses_left, expires_at) VALUES ($1, $2, $3, $4)',
    [organizationId, digest, uses, expiresAt],
  )
}

/** Uses one registration with an initial access token; false when it is unknown, spent or expired. */
export async function useRegistrationToken(q: Queryable, digest: Buffer): Promise<boolean> {
  const { rowCount } = await q.query(
    'UPDATE registration_tokens SET uses_left = uses_left - 1 WHERE token_digest = $1 AND uses_left > 0 AND expires_at > now()',
    [digest],
  )
  return rowCount === 1
}
