/** SQL for browser sessions. */
import type { AuthorizationCode } from './authorization.ts'
import { type BatchedStatement, itemsParameter } from './batch.ts'
import type { Queryable, TenantDatabase } from './database.ts'
import { prefixedUserColumns, type User, userOfPrefixed } from './users.ts'

export interface Session {
  readonly id: string
  readonly userId: string
  readonly authTime: Date
  readonly amr: readonly string[]
  readonly createdAt: Date
  readonly lastSeenAt: Date
  readonly idleExpiresAt: Date
  readonly expiresAt: Date
  readonly ip: string | null
  readonly userAgent: string | null
}

interface SessionRecord {
  id: string
  user_id: string
  auth_time: Date
  amr: string[]
  created_at: Date
  last_seen_at: Date
  idle_expires_at: Date
  expires_at: Date
  ip: string | null
  user_agent: string | null
}

const toSession = (r: SessionRecord): Session => ({
  id: r.id,
  userId: r.user_id,
  authTime: r.auth_time,
  amr: r.amr,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  idleExpiresAt: r.idle_expires_at,
  expiresAt: r.expires_at,
  ip: r.ip,
  userAgent: r.user_agent,
})

export async function insertSession(
  q: Queryable,
  organizationId: string,
  s: {
    userId: string
    tokenDigest: Buffer
    idleSeconds: number
    absoluteSeconds: number
    amr: string[]
    ip?: string | undefined
    userAgent?: string | undefined
  },
): Promise<Session> {
  const { rows } = await q.query<SessionRecord>(
    `INSERT INTO sessions (organization_id, user_id, token_digest, auth_time, amr, idle_expires_at, expires_at, ip, user_agent)
     VALUES ($1, $2, $3, now(), $4, now() + make_interval(secs => $5), now() + make_interval(secs => $6), $7, $8)
     RETURNING *`,
    [
      organizationId,
      s.userId,
      s.tokenDigest,
      s.amr,
      s.idleSeconds,
      s.absoluteSeconds,
      s.ip ?? null,
      s.userAgent?.slice(0, 512) ?? null,
    ],
  )
  return toSession(rows[0]!)
}

// A session is live until it is ended or either of its timeouts passes. Its touch (last seen
// now, idle timeout extended) is due when it was last seen more than a minute ago: one write
// a minute at most.
const SESSION_IS_LIVE = 'ended_at IS NULL AND expires_at > now() AND idle_expires_at > now()'
const TOUCH_IS_DUE = "found.last_seen_at < now() - interval '1 minute'"

/**
 * The CTEs `found`, the live session with the cookie digest $1, and `touched`, the same row
 * with its idle timeout extended by $2 seconds when its touch is due.
 */
const LIVE_SESSION = `found AS (
       SELECT * FROM sessions WHERE token_digest = $1 AND ${SESSION_IS_LIVE}
     ), touched AS (
       UPDATE sessions s SET last_seen_at = now(), idle_expires_at = least(s.expires_at, now() + make_interval(secs => $2))
         FROM found WHERE s.id = found.id AND ${TOUCH_IS_DUE}
       RETURNING s.*
     )`

/** What an authorization needs of a signed-in browser: its session and user. */
export interface SignedIn {
  readonly sessionId: string
  readonly userId: string
  readonly authTime: Date
  readonly amr: readonly string[]
}

/**
 * findLiveSession for the authorization endpoint, on its hot path: the same session, timeouts
 * and touch, but only the four columns an authorization uses, and only when the user is
 * active (one narrow row instead of every session and user column).
 */
export async function findSignedIn(
  q: Queryable,
  tokenDigest: Buffer,
  idleSeconds: number,
): Promise<SignedIn | undefined> {
  const { rows } = await q.query<{ id: string; user_id: string; auth_time: Date; amr: string[] }>(
    `WITH ${LIVE_SESSION}
     SELECT found.id, found.user_id, found.auth_time, found.amr
       FROM found JOIN users u ON u.id = found.user_id AND u.is_active`,
    [tokenDigest, idleSeconds],
  )
  const r = rows[0]
  return r && { sessionId: r.id, userId: r.user_id, authTime: r.auth_time, amr: r.amr }
}

/** What a code records of its request; the session and user come from the statement. */
export type CodeRequest = Pick<
  AuthorizationCode,
  'clientId' | 'redirectUri' | 'scope' | 'nonce' | 'codeChallenge' | 'resource'
>

/** A code for whoever is signed in with the session whose cookie has `sessionDigest`. */
export interface SignedInCode extends CodeRequest {
  readonly sessionDigest: Buffer
  /** The session's idle timeout, extended by the touch (LIVE_SESSION). */
  readonly idleSeconds: number
  readonly digest: Buffer
  readonly ttlSeconds: number
  readonly firstParty: boolean
}

/** Issues a code to a signed-in browser in one statement, in the next batch of signedInCodes. */
export function issueCodeForSession(
  db: TenantDatabase,
  code: SignedInCode,
): Promise<SignedInGrant | undefined> {
  return db.batched(signedInCodes, code)
}

/**
 * The authorization endpoint's common case in one statement, many at once (the requests that
 * arrive together share it: Database.batched): a browser with a live session of an active
 * user, and consent not needed (`firstParty`) or remembered for every scope asked, gets its
 * code stored here. Undefined, with nothing written but the session's touch, when any of that
 * does not hold: the caller then takes the long way (findSignedIn, the pages). The sessions
 * are found and touched as LIVE_SESSION does, in the order of their cookies' digests, so two
 * batches at once (two processes) that touch the same sessions lock them in the same order.
 */
export const signedInCodes: BatchedStatement<SignedInCode, SignedInGrant | undefined> = {
  name: 'authorization_code_for_session',
  // A code that a crash takes back before the WAL reaches disk fails its exchange with
  // invalid_grant, as an expired one does, and the client starts again; a lost touch only
  // shortens the session's idle time. The exchange's commit is durable and flushes the WAL
  // through it, code included. This is half the code flow's WAL flushes.
  durable: false,
  async run(query, requests) {
    const items = requests.map((r, n) => ({
      n,
      session_hex: r.sessionDigest.toString('hex'),
      idle_seconds: r.idleSeconds,
      code_hex: r.digest.toString('hex'),
      client_id: r.clientId,
      redirect_uri: r.redirectUri,
      scope_json: r.scope,
      nonce: r.nonce,
      code_challenge: r.codeChallenge,
      resource_json: r.resource,
      first_party: r.firstParty,
      ttl_seconds: r.ttlSeconds,
    }))
    const { rows } = await query<{ code_digest: Buffer; user_id: string; session_id: string }>(
      `WITH i AS (
         SELECT i.*, ARRAY(SELECT jsonb_array_elements_text(i.scope_json)) AS scope,
                CASE WHEN jsonb_typeof(i.resource_json) = 'array'
                     THEN ARRAY(SELECT jsonb_array_elements_text(i.resource_json)) END AS resource
           FROM jsonb_to_recordset($1::jsonb) AS i(n int, session_hex text, idle_seconds float8, code_hex text,
             client_id text, redirect_uri text, scope_json jsonb, nonce text, code_challenge text,
             resource_json jsonb, first_party boolean, ttl_seconds float8)
       ), found AS (
         SELECT i.n, s.* FROM i CROSS JOIN LATERAL (
           SELECT * FROM sessions WHERE token_digest = decode(i.session_hex, 'hex') AND ${SESSION_IS_LIVE}) s
       ), touched AS (
         UPDATE sessions s SET last_seen_at = now(),
                idle_expires_at = least(s.expires_at, now() + make_interval(secs => i.idle_seconds))
           FROM found JOIN i ON i.n = found.n
          WHERE s.id = found.id AND ${TOUCH_IS_DUE}
       ), signed_in AS (
         SELECT found.n, found.id, found.user_id, found.auth_time, found.amr
           FROM found JOIN i ON i.n = found.n JOIN users u ON u.id = found.user_id AND u.is_active
          WHERE i.first_party
             OR EXISTS (SELECT 1 FROM consents k
                         WHERE k.user_id = found.user_id AND k.client_id = i.client_id AND k.scope @> i.scope)
       )
       INSERT INTO authorization_codes (code_digest, organization_id, client_id, user_id, session_id, redirect_uri,
         scope, nonce, code_challenge, resource, auth_time, amr, expires_at)
       SELECT decode(i.code_hex, 'hex'), zenoauth_current_org(), i.client_id, s.user_id, s.id,
              i.redirect_uri, i.scope, i.nonce, i.code_challenge, i.resource, s.auth_time, s.amr,
              now() + make_interval(secs => i.ttl_seconds)
         FROM signed_in s JOIN i ON i.n = s.n
       RETURNING code_digest, user_id, session_id`,
      [itemsParameter(items, 'session_hex')],
    )
    const byCode = new Map(rows.map((r) => [r.code_digest.toString('hex'), r]))
    return requests.map((r) => {
      const row = byCode.get(r.digest.toString('hex'))
      return row && { userId: row.user_id, sessionId: row.session_id }
    })
  },
}

/** Whom a code was issued to. */
export interface SignedInGrant {
  readonly userId: string
  readonly sessionId: string
}

const LIVE_SESSION_WITH_USER = `WITH ${LIVE_SESSION}, live AS (
       SELECT * FROM touched UNION ALL SELECT * FROM found WHERE NOT EXISTS (SELECT 1 FROM touched)
     )
     SELECT live.*, ${prefixedUserColumns('u')} FROM live LEFT JOIN users u ON u.id = live.user_id`

/** The live session with this cookie digest and its user, touched as LIVE_SESSION says. */
export async function findLiveSession(
  q: Queryable,
  tokenDigest: Buffer,
  idleSeconds: number,
): Promise<{ session: Session; user: User | undefined } | undefined> {
  // With its user, in the same round trip: every authorization with a session needs both.
  const { rows } = await q.query<SessionRecord & Record<string, unknown>>(LIVE_SESSION_WITH_USER, [
    tokenDigest,
    idleSeconds,
  ])
  const row = rows[0]
  return row && { session: toSession(row), user: userOfPrefixed(row) }
}

/** Re-authentication in an existing session (prompt=login, max_age): a new auth_time. */
export async function renewSessionAuthentication(q: Queryable, id: string, amr: string[]): Promise<void> {
  await q.query('UPDATE sessions SET auth_time = now(), amr = $2, last_seen_at = now() WHERE id = $1', [
    id,
    amr,
  ])
}

export async function listUserSessions(q: Queryable, userId: string): Promise<Session[]> {
  const { rows } = await q.query<SessionRecord>(
    `SELECT * FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now() AND idle_expires_at > now()
      ORDER BY last_seen_at DESC`,
    [userId],
  )
  return rows.map(toSession)
}

/**
 * Ends sessions: one (of this user), all of a user's but one (`which` 'except'), or all of a
 * user's. Returns the ids ended. The rows are
 * locked in the order of their cookies' digests, the order a batch of signedInCodes touches
 * them in: taken in the table's order, a user's two sessions in one batch could each be held
 * by one side and awaited by the other (a deadlock).
 */
export async function endSessions(
  q: Queryable,
  userId: string,
  sessionId?: string,
  which: 'only' | 'except' = 'only',
): Promise<string[]> {
  const filter = sessionId ? (which === 'only' ? 'AND id = $2' : 'AND id <> $2') : ''
  const { rows } = await q.query<{ id: string }>(
    `UPDATE sessions s SET ended_at = now()
       FROM (SELECT id FROM sessions WHERE user_id = $1 AND ended_at IS NULL ${filter}
              ORDER BY token_digest FOR UPDATE) ending
      WHERE s.id = ending.id
      RETURNING s.id`,
    sessionId ? [userId, sessionId] : [userId],
  )
  return rows.map((r) => r.id)
}
