/** Read this organization and its settings. */
import { OrganizationResource, organizationResource } from '../../shared/admin/organization.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'admin',
  method: 'GET',
  path: '/api/v1/organization',
  scope: 'organization:read',
  docs: {
    summary: 'Read the organization',
    responses: { 200: { description: 'The organization.', schema: OrganizationResource } },
  },
  answer: async (ctx) => {
    return json(organizationResource(ctx.org))
  },
})
