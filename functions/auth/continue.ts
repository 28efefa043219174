/** Back from the sign-in or consent page to the authorization request it interrupted. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { authorize } from '../../shared/oidc/authorize.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'

export default defineFunction({
  plane: 'auth',
  method: 'GET',
  path: '/auth/continue',
  query: z.object({ interaction: z.string().max(100) }),
  answer: async (ctx) => {
    const interaction = await openInteraction(ctx, ctx.query.interaction)
    return authorize(ctx, interaction.client, interaction.request, interaction)
  },
})
