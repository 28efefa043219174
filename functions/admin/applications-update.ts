/** Change an application: only the fields given; null clears a nullable one. */
import {
  ApplicationParams,
  ApplicationWithSecret,
  applicationView,
  UpdateApplication,
} from '../../shared/applications/schema.ts'
import { patchApplication } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json, noStore } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'admin',
  method: 'PATCH',
  path: '/api/v1/applications/:id',
  scope: 'applications:write',
  params: ApplicationParams,
  body: UpdateApplication,
  docs: {
    summary: 'Update an application',
    responses: {
      200: {
        description: 'Updated; client_secret appears when a change to a secret-based method created one.',
        schema: ApplicationWithSecret,
      },
      404: { description: 'No such application.' },
    },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    const { application, clientSecret } = await patchApplication(ctx, actor, ctx.params.id, ctx.body)
    return noStore(
      json({ ...applicationView(application), ...(clientSecret ? { client_secret: clientSecret } : {}) }),
    )
  },
})
