/** Change a user; disabling one ends their sessions and refresh tokens. */
import { authorizeAdmin } from '../../shared/admin/authorize.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { UpdateUser, UserParams, UserResource, userView } from '../../shared/users/schema.ts'
import { patchUser } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'PATCH',
  path: '/api/v1/users/:id',
  params: UserParams,
  body: UpdateUser,
  docs: {
    summary: 'Update a user',
    scope: 'users:write',
    responses: { 200: { description: 'Updated.', schema: UserResource } },
  },
  handler: async (c, ctx) => {
    const actor = await authorizeAdmin(ctx.header('authorization'), ctx, 'users:write')
    return c.json(userView(await patchUser(ctx, actor, ctx.params.id, ctx.body)))
  },
})
