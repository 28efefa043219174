/** Create an application (OAuth client); its secret is shown once. */
import {
  ApplicationWithSecret,
  applicationView,
  CreateApplication,
} from '../../shared/applications/schema.ts'
import { createApplication } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'

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
  answer: async (ctx) => {
    const { actor } = ctx
    const { application, clientSecret } = await createApplication(ctx, actor, ctx.body)
    return json(
      { ...applicationView(application), ...(clientSecret ? { client_secret: clientSecret } : {}) },
      201,
      { location: `/api/v1/applications/${application.id}`, 'cache-control': 'no-store' },
    )
  },
})
