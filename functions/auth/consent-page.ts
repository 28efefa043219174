/** The consent page: what the application asks for, allow or deny. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { redirect, withCookies } from '../../shared/http/reply.ts'
import { csrfToken } from '../../shared/oidc/csrf.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'
import { currentSession } from '../../shared/oidc/sessions.ts'
import { consentPage } from '../../shared/pages/auth-pages.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/auth/consent',
  query: z.object({ interaction: z.string().max(100) }),
  answer: async (ctx) => {
    const interaction = await openInteraction(ctx, ctx.query.interaction)
    const live = await currentSession(ctx)
    if (!live) return redirect(`${ctx.org.issuer}/auth/login?interaction=${interaction.handle}`, 303)
    const csrf = csrfToken(ctx)
    const page = consentPage({
      org: ctx.org,
      csrf: csrf.token,
      interaction: interaction.handle,
      clientName: interaction.client.name,
      userEmail: live.user.email,
      scopes: interaction.request.scope,
      authorizationDetails: interaction.request.authorizationDetails,
      redirectUri: interaction.request.redirectUri,
      selfRegistered: interaction.client.dynamicallyRegistered,
    })
    return withCookies(page, csrf.cookie)
  },
})
