/** Sign in with email and password: a session, then back to the authorization request. */
import * as z from 'zod'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { markInteractionAuthenticated } from '../../shared/db/authorization.ts'
import { endSessions, renewSessionAuthentication } from '../../shared/db/sessions.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { redirect, withCookies } from '../../shared/http/reply.ts'
import { csrfToken, verifyCsrf } from '../../shared/oidc/csrf.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'
import { checkCredentials } from '../../shared/oidc/login.ts'
import { currentSession, startSession } from '../../shared/oidc/sessions.ts'
import { loginPage } from '../../shared/pages/auth-pages.ts'

const LoginForm = z.object({
  email: z.string().max(320).default(''),
  password: z.string().max(1024).default(''),
  interaction: z.string().max(100).optional(),
  csrf: z.string().max(100).optional(),
})

// One message for an unknown email, a wrong password and a disabled account.
const INVALID = 'The email or password is not right.'

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/auth/login',
  body: LoginForm,
  bodyType: 'form',
  answer: async (ctx) => {
    const { body, org } = ctx
    verifyCsrf(ctx, body.csrf)
    const interaction =
      body.interaction === undefined ? undefined : await openInteraction(ctx, body.interaction)
    const again = (error: string, status: 400 | 401 | 429, retryAfter?: number) => {
      const csrf = csrfToken(ctx)
      const page = loginPage({
        org,
        csrf: csrf.token,
        interaction: interaction?.handle,
        clientName: interaction?.client.name,
        email: body.email,
        error,
        status,
        retryAfter,
        redirectUri: interaction?.request.redirectUri,
      })
      return withCookies(page, csrf.cookie)
    }
    if (!body.email || !body.password) return again('Enter your email and password.', 400)

    const outcome = await checkCredentials(ctx, body.email, body.password)
    if (!outcome.ok) {
      if (outcome.reason === 'invalid') return again(INVALID, 401)
      const minutes = Math.ceil(outcome.retryAfter / 60)
      return again(
        `Too many attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
        429,
        outcome.retryAfter,
      )
    }

    const previous = await currentSession(ctx)
    let cookie: string | undefined
    await ctx.db.transaction(async (q) => {
      let s = previous?.session
      if (previous && previous.user.id === outcome.user.id) {
        // The same person again (prompt=login, max_age): the session gets a new auth_time.
        await renewSessionAuthentication(q, previous.session.id, ['pwd'])
      } else {
        if (previous) await endSessions(q, previous.user.id, previous.session.id)
        const started = await startSession(ctx, q, outcome.user, ['pwd'])
        s = started.session
        cookie = started.cookie
      }
      await insertAuditEvent(q, org.id, {
        actorType: 'user',
        actorId: outcome.user.id,
        action: 'user.login',
        targetType: 'session',
        targetId: s!.id,
        result: 'success',
        ...ctx.request,
        details: { method: 'pwd', ...(interaction ? { client_id: interaction.client.clientId } : {}) },
      })
      if (interaction) await markInteractionAuthenticated(q, interaction.pending.id, s!.id)
    })
    const next = interaction
      ? `${org.issuer}/auth/continue?interaction=${interaction.handle}`
      : `${org.issuer}/auth/account`
    return withCookies(redirect(next, 303), cookie)
  },
})
