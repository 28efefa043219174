/** Read one application. */
import { ApplicationParams, ApplicationResource, applicationView } from '../../shared/applications/schema.ts'
import { applicationNotFound } from '../../shared/applications/service.ts'
import { findApplicationById } from '../../shared/db/applications.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'admin',
  method: 'GET',
  path: '/api/v1/applications/:id',
  scope: 'applications:read',
  params: ApplicationParams,
  docs: {
    summary: 'Read an application',
    responses: {
      200: { description: 'The application.', schema: ApplicationResource },
      404: { description: 'No such application.' },
    },
  },
  answer: async (ctx) => {
    const application = await ctx.db.transaction((q) => findApplicationById(q, ctx.params.id))
    if (!application) throw applicationNotFound()
    return json(applicationView(application))
  },
})
