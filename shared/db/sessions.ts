/** SQL for browser sessions. */
import type { AuthorizationCode } from './authorization.ts'
import type { Queryable } from './database.ts'
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

/**
 * The CTEs `found`, the live session with the cookie digest $1 (not ended, inside both
 * timeouts), and `touched`, the same row with its idle timeout extended by $2 seconds when it
 * was last seen more than a minute ago (one write a minute at most).
 */
const LIVE_SESSION = `found AS (
       SELECT * FROM sessions
        WHERE token_digest = $1 AND ended_at IS NULL AND expires_at > now() AND idle_expires_at > now()
     ), touched AS (
       UPDATE sessions s SET last_seen_at = now(), idle_expires_at = least(s.expires_at, now() + make_interval(secs => $2))
         FROM found WHERE s.id = found.id AND found.last_seen_at < now() - interval '1 minute'
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

/**
 * The authorization endpoint's common case in one statement: a browser with a live session of
 * an active user, and consent not needed (`firstParty`) or remembered for every scope asked,
 * gets its code stored here. Undefined, with nothing written but the session's touch, when
 * any of that does not hold: the caller then takes the long way (findSignedIn, the pages).
 */
export async function insertCodeForSignedIn(
  q: Queryable,
  organizationId: string,
  session: { readonly tokenDigest: Buffer; readonly idleSeconds: number },
  code: CodeRequest & { readonly digest: Buffer; readonly ttlSeconds: number; readonly firstParty: boolean },
): Promise<{ readonly userId: string; readonly sessionId: string } | undefined> {
  const { rows } = await q.query<{ user_id: string; session_id: string }>(
    `WITH ${LIVE_SESSION}, signed_in AS (
       SELECT found.id, found.user_id, found.auth_time, found.amr
         FROM found JOIN users u ON u.id = found.user_id AND u.is_active
        WHERE $10::boolean
           OR EXISTS (SELECT 1 FROM consents k
                       WHERE k.user_id = found.user_id AND k.client_id = $4 AND k.scope @> $6::text[])
     )
     INSERT INTO authorization_codes (code_digest, organization_id, client_id, user_id, session_id, redirect_uri,
       scope, nonce, code_challenge, resource, auth_time, amr, expires_at)
     SELECT $3, $11, $4, s.user_id, s.id, $5, $6, $7, $8, $9, s.auth_time, s.amr, now() + make_interval(secs => $12)
       FROM signed_in s
     RETURNING user_id, session_id`,
    [
      session.tokenDigest,
      session.idleSeconds,
      code.digest,
      code.clientId,
      code.redirectUri,
      code.scope,
      code.nonce,
      code.codeChallenge,
      code.resource,
      code.firstParty,
      organizationId,
      code.ttlSeconds,
    ],
  )
  const r = rows[0]
  return r && { userId: r.user_id, sessionId: r.session_id }
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

/** Ends sessions: one (of this user) or all of a user's. Returns the ids ended. */
export async function endSessions(q: Queryable, userId: string, sessionId?: string): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `UPDATE sessions SET ended_at = now() WHERE user_id = $1 AND ended_at IS NULL ${sessionId ? 'AND id = $2' : ''} RETURNING id`,
    sessionId ? [userId, sessionId] : [userId],
  )
  return rows.map((r) => r.id)
}
