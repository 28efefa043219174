/** Change a user; disabling one ends their sessions and refresh tokens. */
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'
import { UpdateUser, UserParams, UserResource, userView } from '../../shared/users/schema.ts'
import { patchUser } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'PATCH',
  path: '/api/v1/users/:id',
  scope: 'users:write',
  params: UserParams,
  body: UpdateUser,
  docs: {
    summary: 'Update a user',
    responses: { 200: { description: 'Updated.', schema: UserResource } },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    return json(userView(await patchUser(ctx, actor, ctx.params.id, ctx.body)))
  },
})
