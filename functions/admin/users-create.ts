/** Create a user, with or without a password. */
import { defineFunction } from '../../shared/http/define-function.ts'
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
  handler: async (c, ctx) => {
    const { actor } = ctx
    const user = await createUser(ctx, actor, ctx.body)
    c.header('location', `/api/v1/users/${user.id}`)
    return c.json(userView(user), 201)
  },
})
