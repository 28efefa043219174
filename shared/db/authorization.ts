/** SQL for the authorization code flow: pending requests, codes, consents. */
import { type BatchedStatement, byPosition, itemsParameter } from './batch.ts'
import type { Queryable, TenantDatabase } from './database.ts'

export interface PendingRequest {
  readonly id: string
  readonly kind: 'pushed' | 'interaction'
  readonly clientId: string
  readonly parameters: Record<string, unknown>
  readonly sessionId: string | null
  readonly authenticatedAt: Date | null
  readonly consentedAt: Date | null
  readonly createdAt: Date
  readonly expiresAt: Date
}

interface PendingRecord {
  id: string
  kind: 'pushed' | 'interaction'
  client_id: string
  parameters: Record<string, unknown>
  session_id: string | null
  authenticated_at: Date | null
  consented_at: Date | null
  created_at: Date
  expires_at: Date
}

const toPending = (r: PendingRecord): PendingRequest => ({
  id: r.id,
  kind: r.kind,
  clientId: r.client_id,
  parameters: r.parameters,
  sessionId: r.session_id,
  authenticatedAt: r.authenticated_at,
  consentedAt: r.consented_at,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
})

export async function insertPendingRequest(
  q: Queryable,
  organizationId: string,
  r: {
    handleDigest: Buffer
    kind: 'pushed' | 'interaction'
    clientId: string
    parameters: Record<string, unknown>
    ttlSeconds: number
  },
): Promise<void> {
  await q.query(
    `INSERT INTO authorization_requests (organization_id, handle_digest, kind, client_id, parameters, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
    [organizationId, r.handleDigest, r.kind, r.clientId, r.parameters, r.ttlSeconds],
  )
}

/** A pushed request, used up by this call (RFC 9126 §2.2: one use). */
export async function consumePushedRequest(
  q: Queryable,
  handleDigest: Buffer,
): Promise<PendingRequest | undefined> {
  const { rows } = await q.query<PendingRecord>(
    `UPDATE authorization_requests SET consumed_at = now()
      WHERE handle_digest = $1 AND kind = 'pushed' AND consumed_at IS NULL AND expires_at > now()
      RETURNING *`,
    [handleDigest],
  )
  return rows[0] && toPending(rows[0])
}

/** An interaction still open (not finished, not expired). */
export async function findInteraction(
  q: Queryable,
  handleDigest: Buffer,
): Promise<PendingRequest | undefined> {
  const { rows } = await q.query<PendingRecord>(
    `SELECT * FROM authorization_requests
      WHERE handle_digest = $1 AND kind = 'interaction' AND consumed_at IS NULL AND expires_at > now()`,
    [handleDigest],
  )
  return rows[0] && toPending(rows[0])
}

export async function markInteractionAuthenticated(
  q: Queryable,
  id: string,
  sessionId: string,
): Promise<void> {
  await q.query('UPDATE authorization_requests SET session_id = $2, authenticated_at = now() WHERE id = $1', [
    id,
    sessionId,
  ])
}

export async function markInteractionConsented(q: Queryable, id: string): Promise<void> {
  await q.query('UPDATE authorization_requests SET consented_at = now() WHERE id = $1', [id])
}

/** Finishes an interaction; false when it was already finished (a double submit). */
export async function consumeInteraction(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query(
    'UPDATE authorization_requests SET consumed_at = now() WHERE id = $1 AND consumed_at IS NULL',
    [id],
  )
  return rowCount === 1
}

export interface AuthorizationCode {
  readonly clientId: string
  readonly userId: string
  readonly sessionId: string | null
  readonly redirectUri: string
  readonly scope: readonly string[]
  readonly nonce: string | null
  readonly codeChallenge: string | null
  readonly resource: readonly string[] | null
  readonly authorizationDetails: unknown[] | null
  readonly authTime: Date
  readonly amr: readonly string[]
  readonly acr: string | null
}

interface CodeRecord {
  client_id: string
  user_id: string
  session_id: string | null
  redirect_uri: string
  scope: string[]
  nonce: string | null
  code_challenge: string | null
  resource: string[] | null
  authorization_details: unknown[] | null
  auth_time: Date
  amr: string[]
  acr: string | null
}

/** The columns toCode reads, and only those: a consumed code's row is parsed on every exchange. */
const CODE_COLUMNS = [
  'client_id',
  'user_id',
  'session_id',
  'redirect_uri',
  'scope',
  'nonce',
  'code_challenge',
  'resource',
  'authorization_details',
  'auth_time',
  'amr',
  'acr',
]
  .map((column) => `c.${column}`)
  .join(', ')

const toCode = (r: CodeRecord): AuthorizationCode => ({
  clientId: r.client_id,
  userId: r.user_id,
  sessionId: r.session_id,
  redirectUri: r.redirect_uri,
  scope: r.scope,
  nonce: r.nonce,
  codeChallenge: r.code_challenge,
  resource: r.resource,
  authorizationDetails: r.authorization_details,
  authTime: r.auth_time,
  amr: r.amr,
  acr: r.acr,
})

export async function insertAuthorizationCode(
  q: Queryable,
  organizationId: string,
  codeDigest: Buffer,
  code: AuthorizationCode,
  ttlSeconds: number,
): Promise<void> {
  await q.query(
    `INSERT INTO authorization_codes (code_digest, organization_id, client_id, user_id, session_id, redirect_uri, scope,
       nonce, code_challenge, resource, authorization_details, auth_time, amr, acr, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now() + make_interval(secs => $15))`,
    [
      codeDigest,
      organizationId,
      code.clientId,
      code.userId,
      code.sessionId,
      code.redirectUri,
      code.scope,
      code.nonce,
      code.codeChallenge,
      code.resource,
      code.authorizationDetails === null ? null : JSON.stringify(code.authorizationDetails),
      code.authTime,
      code.amr,
      code.acr,
      ttlSeconds,
    ],
  )
}

/** A use of a code: its digest, and the access token about to be issued under it. */
export interface CodeUse {
  readonly digest: Buffer
  readonly jti: string
  readonly expiresAt: Date
}

/** A consumed code, and whether its user is still active. */
export interface ConsumedCode {
  readonly code: AuthorizationCode
  readonly userActive: boolean
}

/**
 * Consumes codes with one atomic UPDATE (DESIGN.md §4), many at once: the exchanges that
 * arrive together share it (Database.batched). For each code it says too whether its user is
 * still active; undefined when the code is unknown, expired or used before (takeCodeIssuance
 * tells those apart). The access token about to be issued under the code is recorded in the
 * same statement: a second use then revokes it, and clearCodeIssuance takes it back when the
 * exchange is refused after all. The same code never goes twice in one batch (keyOf): a
 * second use waits for the next and finds it consumed. Two batches at once (two processes)
 * lock their codes in the order of their digests.
 */
export const codeConsumption: BatchedStatement<CodeUse, ConsumedCode | undefined> = {
  name: 'authorization_code_consumption',
  keyOf: (use) => use.digest.toString('hex'),
  async run(query, uses) {
    const items = uses.map((u, n) => ({
      n,
      code_hex: u.digest.toString('hex'),
      jti: u.jti,
      jti_expires_at: u.expiresAt,
    }))
    const { rows } = await query<CodeRecord & { n: number; user_active: boolean | null }>(
      `UPDATE authorization_codes c SET consumed_at = now(), issued_access_token_jti = i.jti,
              issued_access_token_expires_at = i.jti_expires_at
         FROM jsonb_to_recordset($1::jsonb) AS i(n int, code_hex text, jti text, jti_expires_at timestamptz)
        WHERE c.code_digest = ANY($2::bytea[]) AND c.code_digest = decode(i.code_hex, 'hex')
          AND c.consumed_at IS NULL AND c.expires_at - now() > interval '0'
        RETURNING i.n, ${CODE_COLUMNS}, (SELECT is_active FROM users WHERE id = c.user_id) AS user_active`,
      // The digests once more as an array: the codes are then found by their key's index. The
      // expiry is written as a difference, which no index serves: with statistics from a quiet
      // hour, the expiry index looked the cheaper way in, and read every code of the last minute.
      [itemsParameter(items, 'code_hex'), uses.map((u) => u.digest)],
    )
    return byPosition(uses.length, rows, (r) => ({ code: toCode(r), userActive: r.user_active === true }))
  },
}

/** Consumes a code for an exchange, in the next of the organization's batches of codeConsumption. */
export function consumeAuthorizationCode(
  db: TenantDatabase,
  use: CodeUse,
): Promise<ConsumedCode | undefined> {
  return db.batched(codeConsumption, use)
}

/** What the first use of a code issued. */
export interface CodeIssuance {
  readonly accessTokenJti: string | null
  readonly accessTokenExpiresAt: Date | null
  readonly refreshFamilyId: string | null
}

/**
 * For a second use of a code: takes what its first use issued off it, for the caller to
 * revoke; undefined when the code was never consumed (unknown or expired). The row is locked,
 * so a refresh family its first use is attaching (insertRefreshFamilyWithToken, guarded by
 * the recorded access token) either is attached before and comes back here, or finds the
 * access token gone and is not created.
 */
export async function takeCodeIssuance(q: Queryable, codeDigest: Buffer): Promise<CodeIssuance | undefined> {
  const { rows } = await q.query<{
    issued_access_token_jti: string | null
    issued_access_token_expires_at: Date | null
    issued_refresh_family_id: string | null
  }>(
    `UPDATE authorization_codes c
        SET issued_access_token_jti = NULL, issued_access_token_expires_at = NULL, issued_refresh_family_id = NULL
       FROM (SELECT code_digest, issued_access_token_jti, issued_access_token_expires_at, issued_refresh_family_id
               FROM authorization_codes WHERE code_digest = $1 AND consumed_at IS NOT NULL FOR UPDATE) first
      WHERE c.code_digest = first.code_digest
      RETURNING first.issued_access_token_jti, first.issued_access_token_expires_at, first.issued_refresh_family_id`,
    [codeDigest],
  )
  const r = rows[0]
  return (
    r && {
      accessTokenJti: r.issued_access_token_jti,
      accessTokenExpiresAt: r.issued_access_token_expires_at,
      refreshFamilyId: r.issued_refresh_family_id,
    }
  )
}

/** A consumed code's exchange was refused: nothing was issued under it after all. */
export async function clearCodeIssuance(q: Queryable, codeDigest: Buffer): Promise<void> {
  await q.query(
    `UPDATE authorization_codes SET issued_access_token_jti = NULL, issued_access_token_expires_at = NULL,
       issued_refresh_family_id = NULL WHERE code_digest = $1`,
    [codeDigest],
  )
}

export async function findConsent(
  q: Queryable,
  userId: string,
  clientId: string,
): Promise<string[] | undefined> {
  const { rows } = await q.query<{ scope: string[] }>(
    'SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2',
    [userId, clientId],
  )
  return rows[0]?.scope
}

/** Remembers consent to these scopes, added to what was consented before. */
export async function upsertConsent(
  q: Queryable,
  organizationId: string,
  userId: string,
  clientId: string,
  scope: readonly string[],
): Promise<void> {
  await q.query(
    `INSERT INTO consents (organization_id, user_id, client_id, scope) VALUES ($1, $2, $3, $4)
     ON CONFLICT (organization_id, user_id, client_id)
     DO UPDATE SET scope = ARRAY(SELECT DISTINCT unnest(consents.scope || EXCLUDED.scope)), updated_at = now()`,
    [organizationId, userId, clientId, scope],
  )
}

export async function listConsents(
  q: Queryable,
  userId: string,
): Promise<{ clientId: string; scope: string[]; updatedAt: Date }[]> {
  const { rows } = await q.query<{ client_id: string; scope: string[]; updated_at: Date }>(
    'SELECT client_id, scope, updated_at FROM consents WHERE user_id = $1 ORDER BY updated_at DESC',
    [userId],
  )
  return rows.map((r) => ({ clientId: r.client_id, scope: r.scope, updatedAt: r.updated_at }))
}

export async function deleteConsent(q: Queryable, userId: string, clientId: string): Promise<boolean> {
  const { rowCount } = await q.query('DELETE FROM consents WHERE user_id = $1 AND client_id = $2', [
    userId,
    clientId,
  ])
  return rowCount === 1
}
