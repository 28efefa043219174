/** End every session of a user. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { UserParams } from '../../shared/users/schema.ts'
import { endSessionsOf } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/users/:id/sessions',
  scope: 'users:write',
  params: UserParams,
  docs: {
    summary: "End a user's sessions",
    responses: { 200: { description: 'How many ended.', schema: z.object({ ended: z.number().int() }) } },
  },
  handler: async (c, ctx) => {
    const { actor } = ctx
    return c.json({ ended: await endSessionsOf(ctx, actor, ctx.params.id) })
  },
})
