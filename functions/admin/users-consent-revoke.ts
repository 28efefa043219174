/** Revoke a user's consent to an application. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { empty } from '../../shared/http/reply.ts'
import { revokeConsentOf } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/users/:id/consents/:clientId',
  scope: 'users:write',
  params: z.object({ id: z.uuid(), clientId: z.string().min(1).max(200) }),
  docs: {
    summary: 'Revoke a consent',
    responses: { 204: { description: 'Revoked.' } },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    await revokeConsentOf(ctx, actor, ctx.params.id, ctx.params.clientId)
    return empty()
  },
})
