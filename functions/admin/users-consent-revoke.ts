/** Revoke a user's consent to an application. */
import * as z from 'zod'
import { authorizeAdmin } from '../../shared/admin/authorize.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { revokeConsentOf } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/users/:id/consents/:clientId',
  params: z.object({ id: z.uuid(), clientId: z.string().min(1).max(200) }),
  docs: {
    summary: 'Revoke a consent',
    scope: 'users:write',
    responses: { 204: { description: 'Revoked.' } },
  },
  handler: async (c, ctx) => {
    const actor = await authorizeAdmin(ctx.header('authorization'), ctx, 'users:write')
    await revokeConsentOf(ctx, actor, ctx.params.id, ctx.params.clientId)
    return c.body(null, 204)
  },
})
