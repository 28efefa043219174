/** The consent page: what the application asks for, allow or deny. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { csrfToken } from '../../shared/oidc/csrf.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'
import { currentSession } from '../../shared/oidc/sessions.ts'
import { consentPage } from '../../shared/pages/auth-pages.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/auth/consent',
  query: z.object({ interaction: z.string().max(100) }),
  handler: async (c, ctx) => {
    const interaction = await openInteraction(ctx, ctx.query.interaction)
    const live = await currentSession(c, ctx)
    if (!live) return c.redirect(`${ctx.org.issuer}/auth/login?interaction=${interaction.handle}`, 303)
    return consentPage(c, {
      org: ctx.org,
      csrf: csrfToken(c, ctx.org),
      interaction: interaction.handle,
      clientName: interaction.client.name,
      userEmail: live.user.email,
      scopes: interaction.request.scope,
      authorizationDetails: interaction.request.authorizationDetails,
      redirectUri: interaction.request.redirectUri,
      selfRegistered: interaction.client.dynamicallyRegistered,
    })
  },
})
