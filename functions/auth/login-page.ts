/** The sign-in page. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { withCookies } from '../../shared/http/reply.ts'
import { csrfToken } from '../../shared/oidc/csrf.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'
import { loginPage } from '../../shared/pages/auth-pages.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/auth/login',
  query: z.object({ interaction: z.string().max(100).optional() }),
  answer: async (ctx) => {
    const interaction =
      ctx.query.interaction === undefined ? undefined : await openInteraction(ctx, ctx.query.interaction)
    const csrf = csrfToken(ctx)
    const page = loginPage({
      org: ctx.org,
      csrf: csrf.token,
      interaction: interaction?.handle,
      clientName: interaction?.client.name,
      email: interaction?.request.loginHint,
      redirectUri: interaction?.request.redirectUri,
    })
    return withCookies(page, csrf.cookie)
  },
})
