/** SQL for rate limits (fixed windows) and failed-login lockout, in PostgreSQL (DESIGN.md §7). */
import type { Queryable } from './database.ts'

/**
 * Counts one hit of `key` in the current window of `windowSeconds`; returns the count so far
 * in this window and the seconds until it ends.
 */
export async function hitRateLimit(
  q: Queryable,
  organizationId: string,
  key: string,
  windowSeconds: number,
): Promise<{ count: number; retryAfter: number }> {
  const { rows } = await q.query<{ count: number; retry_after: number }>(
    `INSERT INTO rate_limit_counters AS c (organization_id, key, window_start, count)
     VALUES ($1, $2, to_timestamp(floor(extract(epoch FROM now()) / $3) * $3), 1)
     ON CONFLICT (organization_id, key) DO UPDATE
       SET count = CASE WHEN c.window_start = EXCLUDED.window_start THEN c.count + 1 ELSE 1 END,
           window_start = EXCLUDED.window_start
     RETURNING count, ceil(extract(epoch FROM window_start + make_interval(secs => $3) - now()))::int AS retry_after`,
    [organizationId, key, windowSeconds],
  )
  return { count: rows[0]!.count, retryAfter: Math.max(1, rows[0]!.retry_after) }
}

export async function findLoginLock(
  q: Queryable,
  emailDigest: Buffer,
): Promise<{ failures: number; lockedUntil: Date | null } | undefined> {
  const { rows } = await q.query<{ failures: number; locked_until: Date | null }>(
    'SELECT failures, locked_until FROM login_failures WHERE email_digest = $1',
    [emailDigest],
  )
  return rows[0] && { failures: rows[0].failures, lockedUntil: rows[0].locked_until }
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
