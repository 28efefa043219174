/** Set a user's password (an admin reset): their sessions and refresh tokens end. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { empty } from '../../shared/http/reply.ts'
import { SetPassword, UserParams } from '../../shared/users/schema.ts'
import { resetPassword } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'PUT',
  path: '/api/v1/users/:id/password',
  scope: 'users:write',
  params: UserParams,
  body: SetPassword,
  docs: { summary: 'Set a password', responses: { 204: { description: 'Set.' } } },
  answer: async (ctx) => {
    const { actor } = ctx
    await resetPassword(ctx, actor, ctx.params.id, ctx.body.password)
    return empty()
  },
})
