/** Change an application: only the fields given; null clears a nullable one. */
import {
  ApplicationParams,
  ApplicationWithSecret,
  applicationView,
  UpdateApplication,
} from '../../shared/applications/schema.ts'
import { patchApplication } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'

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
  handler: async (c, ctx) => {
    const { actor } = ctx
    const { application, clientSecret } = await patchApplication(ctx, actor, ctx.params.id, ctx.body)
    c.header('cache-control', 'no-store')
    return c.json({
      ...applicationView(application),
      ...(clientSecret ? { client_secret: clientSecret } : {}),
    })
  },
})
