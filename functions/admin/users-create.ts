/** Create a user, with or without a password. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'
import { CreateUser, UserResource, userView } from '../../shared/users/schema.ts'
import { createUser } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'POST',
  path: '/api/v1/users',
  scope: 'users:write',
  body: CreateUser,
  docs: {
    summary: 'Create a user',
    responses: {
      201: { description: 'Created.', schema: UserResource },
      409: { description: 'The email is taken.' },
    },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    const user = await createUser(ctx, actor, ctx.body)
    return json(userView(user), 201, { location: `/api/v1/users/${user.id}` })
  },
})
