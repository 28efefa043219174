/** Delete an application; its tokens stop being active at once. */
import { ApplicationParams } from '../../shared/applications/schema.ts'
import { removeApplication } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { empty } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'admin',
  method: 'DELETE',
  path: '/api/v1/applications/:id',
  scope: 'applications:write',
  params: ApplicationParams,
  docs: {
    summary: 'Delete an application',
    responses: { 204: { description: 'Deleted.' }, 404: { description: 'No such application.' } },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    await removeApplication(ctx, actor, ctx.params.id)
    return empty()
  },
})
