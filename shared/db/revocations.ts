/** SQL for the access-token deny list and for client-assertion replay protection. */
import type { Queryable } from './database.ts'

export async function insertRevokedAccessToken(
  q: Queryable,
  organizationId: string,
  jti: string,
  expiresAt: Date,
): Promise<void> {
  await q.query(
    `INSERT INTO revoked_access_tokens (organization_id, jti, expires_at) VALUES ($1, $2, $3)
     ON CONFLICT (organization_id, jti) DO NOTHING`,
    [organizationId, jti, expiresAt],
  )
}

/** jtis of revoked access tokens that have not expired yet, `limit` at most. */
export async function findRevokedJtis(q: Queryable, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ jti: string }>(
    'SELECT jti FROM revoked_access_tokens WHERE expires_at > now() LIMIT $1',
    [limit],
  )
  return rows.map((r) => r.jti)
}

/** Whether the access token `jti` is on the deny list (revoked and not expired). */
export async function isJtiRevoked(q: Queryable, jti: string): Promise<boolean> {
  const { rows } = await q.query(
    'SELECT 1 FROM revoked_access_tokens WHERE organization_id = zenoauth_current_org() AND jti = $1 AND expires_at > now()',
    [jti],
  )
  return rows.length > 0
}

/** Records a client assertion's jti; false when it was seen before (a replay). */
export async function insertClientAssertionJti(
  q: Queryable,
  organizationId: string,
  clientId: string,
  jti: string,
  expiresAt: Date,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `INSERT INTO client_assertion_jtis (organization_id, client_id, jti, expires_at) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING`,
    [organizationId, clientId, jti, expiresAt],
  )
  return rowCount === 1
}

/** Removes deny-list entries and assertion jtis whose tokens have expired anyway. */
export async function deleteExpiredTokenRecords(q: Queryable): Promise<number> {
  const a = await q.query('DELETE FROM revoked_access_tokens WHERE expires_at <= now()')
  const b = await q.query('DELETE FROM client_assertion_jtis WHERE expires_at <= now()')
  return (a.rowCount ?? 0) + (b.rowCount ?? 0)
}

/** Removes what has expired for good: sessions, pending requests, codes, refresh families, counters. */
export async function deleteExpiredFlowRecords(q: Queryable): Promise<number> {
  const statements = [
    "DELETE FROM sessions WHERE expires_at < now() - interval '1 day' OR ended_at < now() - interval '1 day'",
    "DELETE FROM authorization_requests WHERE expires_at < now() - interval '1 hour'",
    "DELETE FROM authorization_codes WHERE expires_at < now() - interval '1 day'",
    "DELETE FROM refresh_token_families WHERE expires_at < now() OR revoked_at < now() - interval '1 day'",
    "DELETE FROM rate_limit_counters WHERE window_start < now() - interval '1 day'",
    "DELETE FROM login_failures WHERE last_failure_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())",
    'DELETE FROM registration_tokens WHERE expires_at < now() OR uses_left = 0',
  ]
  let removed = 0
  for (const sql of statements) removed += (await q.query(sql)).rowCount ?? 0
  return removed
}
