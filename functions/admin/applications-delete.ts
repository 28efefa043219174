/** Delete an application; its tokens stop being active at once. */
import { authorizeAdmin } from '../../shared/admin/authorize.ts'
import { ApplicationParams } from '../../shared/applications/schema.ts'
import { removeApplication } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/applications/:id',
  params: ApplicationParams,
  docs: {
    summary: 'Delete an application',
    scope: 'applications:write',
    responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such application.' } },
  },
  handler: async (c, ctx) => {
    const actor = await authorizeAdmin(ctx.header('authorization'), ctx, 'applications:write')
    await removeApplication(ctx, actor, ctx.params.id)
    return c.body(null, 204)
  },
})
