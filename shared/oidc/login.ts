/**
 * Password login. Unknown users, wrong passwords and disabled accounts get the same answer
 * in the same time: every attempt that reaches the password check verifies exactly one
 * Argon2id hash (a dummy one when there is no user). Rate limits (per IP, per account) and a
 * progressive lockout live in PostgreSQL, keyed by the email's digest whether or not an
 * account has it.
 */
import { hashPassword, needsRehash, verifyPassword } from '../crypto/password.ts'
import { digestOf, randomToken } from '../crypto/random.ts'
import { insertAuditEvent } from '../db/audit.ts'
import {
  clearLoginFailures,
  hitRateLimits,
  type RateLimitHit,
  recordLoginFailure,
} from '../db/rate-limits.ts'
import { findLoginSubject, replacePasswordHash, type User } from '../db/users.ts'
import type { RequestScope } from '../request-scope.ts'
import { policyOf } from './policy.ts'

type Ctx = Pick<RequestScope, 'org' | 'db' | 'request' | 'runtime'>

export type LoginOutcome =
  | { readonly ok: true; readonly user: User }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'limited' | 'locked'; readonly retryAfter: number }

let dummyHash: Promise<string> | undefined
/** A hash of a password nobody knows, made with the current parameters, to verify against. */
export const dummyPasswordHash = () => {
  dummyHash ??= hashPassword(randomToken())
  return dummyHash
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase()
}

export async function checkCredentials(ctx: Ctx, email: string, password: string): Promise<LoginOutcome> {
  const policy = policyOf(ctx.org)
  const normalized = normalizeEmail(email)
  const emailDigest = digestOf(normalized)

  const gate = await ctx.db.transaction(
    async (q) => {
      // One round trip for both counters, one for the account's state.
      const [byIp, byAccount] = (await hitRateLimits(
        q,
        ctx.org.id,
        [
          { key: `login:ip:${ctx.request.ip ?? 'unknown'}`, limit: policy.loginPerIpPerMinute },
          { key: `login:account:${emailDigest.toString('hex')}`, limit: policy.loginPerAccountPerMinute },
        ],
        60,
      )) as [RateLimitHit, RateLimitHit]
      const ipLimited = byIp.count > policy.loginPerIpPerMinute
      const accountLimited = byAccount.count > policy.loginPerAccountPerMinute
      if (ipLimited || accountLimited) {
        // Batched, like other high-volume events: a flood of refused attempts is one insert a second.
        ctx.runtime.audit.record(ctx.org.id, {
          ...ctx.request,
          actorType: 'anonymous',
          action: 'user.login_rate_limited',
          result: 'failure',
          details: { email: normalized.slice(0, 320) },
        })
        return {
          reason: 'limited' as const,
          retryAfter: Math.max(ipLimited ? byIp.retryAfter : 0, accountLimited ? byAccount.retryAfter : 0),
        }
      }
      const { user, lock } = await findLoginSubject(q, normalized, emailDigest)
      if (lock?.lockedUntil && lock.lockedUntil.getTime() > Date.now()) {
        return {
          reason: 'locked' as const,
          retryAfter: Math.ceil((lock.lockedUntil.getTime() - Date.now()) / 1000),
        }
      }
      return {
        reason: undefined,
        retryAfter: 0,
        hadFailures: lock !== undefined,
        user,
      }
      // Counters only: a crash may forget the last moment's hits, and the commit need not wait for
      // the disk. The one event it writes, a refusal, goes through the audit buffer.
    },
    { durable: false },
  )
  if (gate.reason) return { ok: false, reason: gate.reason, retryAfter: gate.retryAfter }

  const user = gate.user
  const matches = await verifyPassword(user?.passwordHash ?? (await dummyPasswordHash()), password)
  const ok = matches && user !== undefined && user.passwordHash !== null && user.isActive
  // DESIGN.md §5: a hash made with older parameters is replaced while the password is at hand
  // (hashed before the transaction, which must not hold a connection through Argon2id).
  const rehashed = ok && (await needsRehash(user.passwordHash!)) ? await hashPassword(password) : undefined
  // The usual success has nothing to write here: no failures to clear, no new hash.
  if (ok && !gate.hadFailures && !rehashed) return { ok: true, user }

  return ctx.db.transaction(async (q) => {
    if (!ok) {
      const failure = await recordLoginFailure(q, ctx.org.id, emailDigest, {
        threshold: policy.lockoutThreshold,
        baseSeconds: policy.lockoutBaseSeconds,
        maxSeconds: policy.lockoutMaxSeconds,
      })
      const reason = matches && user && !user.isActive ? 'account disabled' : 'invalid credentials'
      await insertAuditEvent(q, ctx.org.id, {
        ...ctx.request,
        actorType: 'anonymous',
        action: 'user.login_failed',
        targetType: user ? 'user' : null,
        targetId: user?.id ?? null,
        result: 'failure',
        details: { email: normalized.slice(0, 320), reason, failures: failure.failures },
      })
      if (failure.lockedUntil) {
        await insertAuditEvent(q, ctx.org.id, {
          ...ctx.request,
          actorType: 'system',
          action: 'user.login_locked',
          targetType: user ? 'user' : null,
          targetId: user?.id ?? null,
          result: 'success',
          details: {
            email: normalized.slice(0, 320),
            until: failure.lockedUntil.toISOString(),
            failures: failure.failures,
          },
        })
      }
      return { ok: false as const, reason: 'invalid' as const }
    }
    await clearLoginFailures(q, emailDigest)
    if (rehashed) await replacePasswordHash(q, user!.id, rehashed)
    return { ok: true as const, user: user! }
  })
}
