/** End every session of a user. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'
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
  answer: async (ctx) => {
    const { actor } = ctx
    return json({ ended: await endSessionsOf(ctx, actor, ctx.params.id) })
  },
})
