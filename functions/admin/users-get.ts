/** Read one user. */
import { findUserById } from '../../shared/db/users.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'
import { UserParams, UserResource, userView } from '../../shared/users/schema.ts'
import { userNotFound } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'GET',
  path: '/api/v1/users/:id',
  scope: 'users:read',
  params: UserParams,
  docs: {
    summary: 'Read a user',
    responses: { 200: { description: 'The user.', schema: UserResource } },
  },
  answer: async (ctx) => {
    const user = await ctx.db.transaction((q) => findUserById(q, ctx.params.id))
    if (!user) throw userNotFound()
    return json(userView(user))
  },
})
