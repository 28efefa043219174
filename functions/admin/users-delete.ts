/** Delete a user, with their sessions, consents and tokens. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { empty } from '../../shared/http/reply.ts'
import { UserParams } from '../../shared/users/schema.ts'
import { removeUser } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/users/:id',
  scope: 'users:write',
  params: UserParams,
  docs: { summary: 'Delete a user', responses: { 204: { description: 'Deleted.' } } },
  answer: async (ctx) => {
    const { actor } = ctx
    await removeUser(ctx, actor, ctx.params.id)
    return empty()
  },
})
