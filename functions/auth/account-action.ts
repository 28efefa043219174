/** What the account page's buttons do: end a session or all others, revoke an application, sign out. */
import * as z from 'zod'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { deleteConsent } from '../../shared/db/authorization.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { redirect, withCookies } from '../../shared/http/reply.ts'
import { revokeGrants } from '../../shared/oauth/revocation-list.ts'
import { verifyCsrf } from '../../shared/oidc/csrf.ts'
import { currentSession, endUserSessions, forgetSessionCookie } from '../../shared/oidc/sessions.ts'

const AccountAction = z.discriminatedUnion('action', [
  z.object({ action: z.literal('end-session'), session: z.uuid(), csrf: z.string().max(100).optional() }),
  z.object({
    action: z.literal('revoke-consent'),
    client_id: z.string().max(200),
    csrf: z.string().max(100).optional(),
  }),
  z.object({ action: z.literal('end-other-sessions'), csrf: z.string().max(100).optional() }),
  z.object({ action: z.literal('sign-out'), csrf: z.string().max(100).optional() }),
])

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/auth/account',
  body: AccountAction,
  bodyType: 'form',
  answer: async (ctx) => {
    const { body, org } = ctx
    verifyCsrf(ctx, body.csrf)
    const live = await currentSession(ctx)
    if (!live) return redirect(`${org.issuer}/auth/login`, 303)
    const actor = {
      actorType: 'user' as const,
      actorId: live.user.id,
      ...ctx.request,
    }
    switch (body.action) {
      case 'end-session':
        await ctx.db.transaction((q) => endUserSessions(q, org.id, live.user.id, actor, body.session))
        return redirect(`${org.issuer}/auth/account?done=ended`, 303)
      case 'end-other-sessions':
        await ctx.db.transaction((q) =>
          endUserSessions(q, org.id, live.user.id, actor, live.session.id, 'except'),
        )
        return redirect(`${org.issuer}/auth/account?done=others`, 303)
      case 'revoke-consent':
        await ctx.db.transaction(async (q) => {
          if (!(await deleteConsent(q, live.user.id, body.client_id))) return
          // Revoking consent takes back the application's standing access too.
          await revokeGrants(q, org.id, { userId: live.user.id, clientId: body.client_id }, 'consent revoked')
          await insertAuditEvent(q, org.id, {
            ...actor,
            action: 'consent.revoked',
            targetType: 'application',
            targetId: body.client_id,
            result: 'success',
          })
        })
        return redirect(`${org.issuer}/auth/account?done=revoked`, 303)
      case 'sign-out':
        await ctx.db.transaction((q) => endUserSessions(q, org.id, live.user.id, actor, live.session.id))
        return withCookies(redirect(`${org.issuer}/auth/login`, 303), forgetSessionCookie(ctx))
    }
  },
})
