/** Changes to users from the admin API, each in one transaction with its audit event. */
import type { AdminActor } from '../admin/authorize.ts'
import { hashPassword } from '../crypto/password.ts'
import { insertAuditEvent } from '../db/audit.ts'
import { deleteConsent } from '../db/authorization.ts'
import type { Queryable } from '../db/database.ts'
import { deleteUser, findUserById, insertUser, setUserPassword, type User, updateUser } from '../db/users.ts'
import { ProblemError } from '../http/errors.ts'
import { revokeGrants } from '../oauth/revocation-list.ts'
import { endUserSessions } from '../oidc/sessions.ts'
import type { TenantDatabase } from '../request-scope.ts'
import { toStored, type UserInput } from './schema.ts'

interface Ctx {
  readonly db: TenantDatabase
  readonly org: { readonly id: string }
}

export const userNotFound = () => new ProblemError(404, 'not_found', 'No user has this id.')
const emailTaken = () =>
  new ProblemError(409, 'email_taken', 'Another user of this organization has this email.')

function isEmailConflict(err: unknown): boolean {
  const e = err as { code?: string; constraint?: string }
  return e.code === '23505' && e.constraint === 'users_email_per_organization'
}

async function audit(
  q: Queryable,
  ctx: Ctx,
  actor: AdminActor,
  action: string,
  userId: string,
  details: Record<string, unknown> = {},
) {
  await insertAuditEvent(q, ctx.org.id, {
    ...actor.audit,
    action,
    targetType: 'user',
    targetId: userId,
    result: 'success',
    details,
  })
}

/** @throws ProblemError 409 when the email is taken. */
export async function createUser(
  ctx: Ctx,
  actor: AdminActor,
  input: UserInput & { password?: string | undefined },
): Promise<User> {
  const passwordHash = input.password ? await hashPassword(input.password) : null
  try {
    return await ctx.db.transaction(async (q) => {
      const user = await insertUser(q, ctx.org.id, { ...toStored(input), passwordHash })
      await audit(q, ctx, actor, 'user.created', user.id, {
        email: user.email,
        with_password: passwordHash !== null,
      })
      return user
    })
  } catch (err) {
    if (isEmailConflict(err)) throw emailTaken()
    throw err
  }
}

/** A disabled user's sessions and refresh tokens end with the change. @throws ProblemError 404, 409. */
export async function patchUser(ctx: Ctx, actor: AdminActor, id: string, input: UserInput): Promise<User> {
  try {
    return await ctx.db.transaction(async (q) => {
      // Locked: the patch is merged onto this row, and the row is still there to update.
      const current = await findUserById(q, id, { forUpdate: true })
      if (!current) throw userNotFound()
      const user = (await updateUser(q, id, toStored(input, current)))!
      await audit(q, ctx, actor, 'user.updated', id, { fields: Object.keys(input) })
      if (current.isActive && !user.isActive) {
        await endUserSessions(q, ctx.org.id, id, actor.audit)
        await revokeGrants(q, ctx.org.id, { userId: id }, 'user disabled')
      }
      return user
    })
  } catch (err) {
    if (isEmailConflict(err)) throw emailTaken()
    throw err
  }
}

/** @throws ProblemError 404. */
export async function removeUser(ctx: Ctx, actor: AdminActor, id: string): Promise<void> {
  await ctx.db.transaction(async (q) => {
    // Before the row goes (its families go with it): the access tokens of its grants stop too.
    await revokeGrants(q, ctx.org.id, { userId: id }, 'user deleted')
    const user = await deleteUser(q, id)
    if (!user) throw userNotFound()
    await audit(q, ctx, actor, 'user.deleted', id, { email: user.email })
  })
}

/** Sets a password; the user's sessions and refresh tokens end (a reset is a security event). */
export async function resetPassword(
  ctx: Ctx,
  actor: AdminActor,
  id: string,
  password: string,
): Promise<void> {
  const hash = await hashPassword(password)
  await ctx.db.transaction(async (q) => {
    if (!(await setUserPassword(q, id, hash))) throw userNotFound()
    await endUserSessions(q, ctx.org.id, id, actor.audit)
    await revokeGrants(q, ctx.org.id, { userId: id }, 'password reset')
    await audit(q, ctx, actor, 'user.password_set', id)
  })
}

/** Ends every session of a user and the refresh tokens bound to them. */
export async function endSessionsOf(ctx: Ctx, actor: AdminActor, id: string): Promise<number> {
  return ctx.db.transaction(async (q) => {
    if (!(await findUserById(q, id))) throw userNotFound()
    return (await endUserSessions(q, ctx.org.id, id, actor.audit)).length
  })
}

/** Revokes a user's consent to an application, and that application's refresh tokens. */
export async function revokeConsentOf(
  ctx: Ctx,
  actor: AdminActor,
  id: string,
  clientId: string,
): Promise<void> {
  await ctx.db.transaction(async (q) => {
    if (!(await deleteConsent(q, id, clientId)))
      throw new ProblemError(404, 'not_found', 'This user has not consented to this application.')
    await revokeGrants(q, ctx.org.id, { userId: id, clientId }, 'consent revoked')
    await audit(q, ctx, actor, 'consent.revoked', id, { client_id: clientId })
  })
}
