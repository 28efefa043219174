/** The sign-in page. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { csrfToken } from '../../shared/oidc/csrf.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'
import { loginPage } from '../../shared/pages/auth-pages.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/auth/login',
  query: z.object({ interaction: z.string().max(100).optional() }),
  handler: async (c, ctx) => {
    const interaction =
      ctx.query.interaction === undefined ? undefined : await openInteraction(ctx, ctx.query.interaction)
    return loginPage(c, {
      org: ctx.org,
      csrf: csrfToken(c, ctx.org),
      interaction: interaction?.handle,
      clientName: interaction?.client.name,
      email: interaction?.request.loginHint,
      redirectUri: interaction?.request.redirectUri,
    })
  },
})
