/**
 * Browser sessions: an opaque 256-bit cookie, stored as a SHA-256 digest, with idle and
 * absolute timeouts (DESIGN.md §5).
 */
import { notifyChange } from '../cache/invalidation.ts'
import { digestOf, randomToken } from '../crypto/random.ts'
import { type AuditEvent, insertAuditEvent } from '../db/audit.ts'
import type { Queryable } from '../db/database.ts'
import {
  endSessions,
  findLiveSession,
  findSignedIn,
  insertSession,
  issueCodeForSession,
  type Session,
  type SignedIn,
  type SignedInCode,
  type SignedInGrant,
} from '../db/sessions.ts'
import type { User } from '../db/users.ts'
import { clearCookie, readCookie, setCookie } from '../http/cookies.ts'
import { revokeGrants } from '../oauth/revocation-list.ts'
import type { RequestScope } from '../request-scope.ts'
import { policyOf } from './policy.ts'

export const SESSION_COOKIE = 'session'

type Ctx = Pick<RequestScope, 'org' | 'db' | 'request' | 'header'>

export interface LiveSession {
  readonly session: Session
  readonly user: User
}

/** The request's live session with its (active) user, if any. */
export async function currentSession(ctx: Ctx): Promise<LiveSession | undefined> {
  const token = readCookie(ctx, SESSION_COOKIE)
  if (!token || token.length > 100) return undefined
  return ctx.db.transaction((q) => sessionOf(q, ctx))
}

/** The request's signed-in session and active user, narrowly (findSignedIn), if any. */
export async function signedInOf(q: Queryable, ctx: Ctx): Promise<SignedIn | undefined> {
  const digest = sessionCookieDigest(ctx)
  return digest && findSignedIn(q, digest, policyOf(ctx.org).sessionIdleSeconds)
}

/**
 * A code for the request's session cookie, issued in one statement (issueCodeForSession): whom the code
 * was issued to, or undefined (no cookie, no live session, consent needed).
 */
export async function codeForSignedIn(
  ctx: Ctx,
  code: Omit<SignedInCode, 'sessionDigest' | 'idleSeconds'>,
): Promise<SignedInGrant | undefined> {
  const digest = sessionCookieDigest(ctx)
  if (!digest) return undefined
  return issueCodeForSession(ctx.db, {
    ...code,
    sessionDigest: digest,
    idleSeconds: policyOf(ctx.org).sessionIdleSeconds,
  })
}

/** currentSession in the caller's transaction. */
export async function sessionOf(q: Queryable, ctx: Ctx): Promise<LiveSession | undefined> {
  const digest = sessionCookieDigest(ctx)
  if (!digest) return undefined
  const live = await findLiveSession(q, digest, policyOf(ctx.org).sessionIdleSeconds)
  return live?.user?.isActive ? { session: live.session, user: live.user } : undefined
}

/** The digest of the request's session cookie; undefined without one or with a malformed one. */
function sessionCookieDigest(ctx: Ctx): Buffer | undefined {
  const token = readCookie(ctx, SESSION_COOKIE)
  return token && token.length <= 100 ? digestOf(token) : undefined
}

/** A session just started, and the cookie that carries it (for the reply, withCookies). */
export interface StartedSession {
  readonly session: Session
  readonly cookie: string
}

/** Starts a session for a user who just authenticated, in the caller's transaction. */
export async function startSession(
  ctx: Ctx,
  q: Queryable,
  user: User,
  amr: string[],
): Promise<StartedSession> {
  const policy = policyOf(ctx.org)
  const token = randomToken()
  const session = await insertSession(q, ctx.org.id, {
    userId: user.id,
    tokenDigest: digestOf(token),
    idleSeconds: policy.sessionIdleSeconds,
    absoluteSeconds: policy.sessionMaxSeconds,
    amr,
    ip: ctx.request.ip,
    userAgent: ctx.request.userAgent,
  })
  // A session cookie (no Max-Age): the server-side timeouts decide how long it lives.
  return { session, cookie: setCookie(ctx.org, SESSION_COOKIE, token, { sameSite: 'Lax' }) }
}

/**
 * Ends sessions of a user (one, all but one, or all) with the refresh tokens bound to them, except those
 * granted for offline access, and audits it.
 */
export async function endUserSessions(
  q: Queryable,
  organizationId: string,
  userId: string,
  actor: Pick<AuditEvent, 'actorType' | 'actorId' | 'ip' | 'userAgent' | 'requestId'>,
  sessionId?: string,
  which: 'only' | 'except' = 'only',
): Promise<string[]> {
  const ended = await endSessions(q, userId, sessionId, which)
  if (ended.length === 0) return ended
  await revokeGrants(q, organizationId, { sessionIds: ended }, 'session ended')
  await insertAuditEvent(q, organizationId, {
    ...actor,
    action: 'session.ended',
    targetType: 'user',
    targetId: userId,
    result: 'success',
    details: { sessions: ended },
  })
  await notifyChange(q, 'revocation', organizationId)
  return ended
}

/** The Set-Cookie value that removes the session cookie. */
export function forgetSessionCookie(ctx: Pick<Ctx, 'org'>): string {
  return clearCookie(ctx.org, SESSION_COOKIE)
}
