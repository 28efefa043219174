/** Delete a user, with their sessions, consents and tokens. */
import { authorizeAdmin } from '../../shared/admin/authorize.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { UserParams } from '../../shared/users/schema.ts'
import { removeUser } from '../../shared/users/service.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/users/:id',
  params: UserParams,
  docs: { summary: 'Delete a user', scope: 'users:write', responses: { 204: { description: 'Deleted.' } } },
  handler: async (c, ctx) => {
    const actor = await authorizeAdmin(ctx.header('authorization'), ctx, 'users:write')
    await removeUser(ctx, actor, ctx.params.id)
    return c.body(null, 204)
  },
})
