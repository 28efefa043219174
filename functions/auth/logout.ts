/** RP-Initiated Logout — OpenID Connect RP-Initiated Logout 1.0 §2-3. */
import * as z from 'zod'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { redirect, withCookies } from '../../shared/http/reply.ts'
import { csrfToken, verifyCsrf } from '../../shared/oidc/csrf.ts'
import { verifyIdTokenHint } from '../../shared/oidc/id-token.ts'
import { currentSession, endUserSessions, forgetSessionCookie } from '../../shared/oidc/sessions.ts'
import { loggedOutPage, logoutConfirmPage } from '../../shared/pages/auth-pages.ts'
import { errorPage } from '../../shared/pages/layout.ts'

const LogoutParameters = z.object({
  id_token_hint: z.string().max(16_384).optional(),
  client_id: z.string().max(200).optional(),
  post_logout_redirect_uri: z.string().max(2000).optional(),
  state: z.string().max(2048).optional(),
  logout_hint: z.string().max(320).optional(),
  ui_locales: z.string().max(200).optional(),
  confirm: z.enum(['yes']).optional(),
  csrf: z.string().max(100).optional(),
})

export default defineFunction({
  plane: 'auth',
  method: ['GET', 'POST'],
  path: '/oauth/logout',
  query: LogoutParameters,
  body: LogoutParameters,
  bodyType: 'form',
  errors: 'html',
  answer: async (ctx) => {
    const { org, runtime } = ctx
    const params = ctx.method === 'POST' ? ctx.body : ctx.query
    const hint = params.id_token_hint
      ? await verifyIdTokenHint(runtime, org, params.id_token_hint)
      : undefined
    if (params.id_token_hint && !hint)
      return errorPage(400, 'Cannot sign out', 'The id_token_hint was not issued here.')
    if (hint && params.client_id && !hint.aud.includes(params.client_id)) {
      return errorPage(400, 'Cannot sign out', 'client_id does not match the id_token_hint.')
    }
    const clientId = params.client_id ?? (hint?.aud.length === 1 ? hint.aud[0] : undefined)
    const client = clientId ? await runtime.clients.find(org.id, clientId) : undefined
    if (
      params.post_logout_redirect_uri !== undefined &&
      !client?.postLogoutRedirectUris.includes(params.post_logout_redirect_uri)
    ) {
      return errorPage(
        400,
        'Cannot sign out',
        'The post_logout_redirect_uri is not registered for this application.',
      )
    }

    const live = await currentSession(ctx)
    // Without a hint naming this very session, the person confirms (CSRF-protected POST).
    const hinted =
      live && hint && hint.sub === live.user.id && (hint.sid === undefined || hint.sid === live.session.id)
    const confirmed = ctx.method === 'POST' && params.confirm === 'yes'
    if (confirmed) verifyCsrf(ctx, params.csrf)
    if (live && !hinted && !confirmed) {
      const csrf = csrfToken(ctx)
      const page = logoutConfirmPage(org, csrf.token, {
        id_token_hint: params.id_token_hint,
        client_id: params.client_id,
        post_logout_redirect_uri: params.post_logout_redirect_uri,
        state: params.state,
      })
      return withCookies(page, csrf.cookie)
    }
    if (live) {
      await ctx.db.transaction(async (q) => {
        const actor = {
          actorType: 'user' as const,
          actorId: live.user.id,
          ...ctx.request,
        }
        await endUserSessions(q, org.id, live.user.id, actor, live.session.id)
        await insertAuditEvent(q, org.id, {
          ...actor,
          action: 'user.logout',
          targetType: 'session',
          targetId: live.session.id,
          result: 'success',
          details: { client_id: clientId ?? null },
        })
      })
    }
    const forget = forgetSessionCookie(ctx)
    if (params.post_logout_redirect_uri) {
      const target = new URL(params.post_logout_redirect_uri)
      if (params.state !== undefined) target.searchParams.append('state', params.state)
      return withCookies(redirect(target.href, 303), forget)
    }
    return withCookies(loggedOutPage(org), forget)
  },
})
