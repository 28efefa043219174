/** Create an application (OAuth client); its secret is shown once. */
import {
  ApplicationWithSecret,
  applicationView,
  CreateApplication,
} from '../../shared/applications/schema.ts'
import { createApplication } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'

export default defineFunction({
  plane: 'admin',
  method: 'POST',
  path: '/api/v1/applications',
  scope: 'applications:write',
  body: CreateApplication,
  docs: {
    summary: 'Create an application',
    responses: {
      201: { description: 'Created; client_secret appears only here.', schema: ApplicationWithSecret },
    },
  },
  handler: async (c, ctx) => {
    const { actor } = ctx
    const { application, clientSecret } = await createApplication(ctx, actor, ctx.body)
    c.header('location', `/api/v1/applications/${application.id}`)
    c.header('cache-control', 'no-store')
    return c.json(
      { ...applicationView(application), ...(clientSecret ? { client_secret: clientSecret } : {}) },
      201,
    )
  },
})
