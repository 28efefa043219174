/** Read this organization and its settings. */
import { authorizeAdmin } from '../../shared/admin/authorize.ts'
import { OrganizationResource, organizationResource } from '../../shared/admin/organization.ts'
import { defineFunction } from '../../shared/http/define-function.ts'

export default defineFunction({
  plane: 'admin',
  method: 'GET',
  path: '/api/v1/organization',
  docs: {
    summary: 'Read the organization',
    scope: 'organization:read',
    responses: { 200: { description: 'The organization.', schema: OrganizationResource } },
  },
  handler: async (c, ctx) => {
    await authorizeAdmin(ctx.header('authorization'), ctx, 'organization:read')
    return c.json(organizationResource(ctx.org))
  },
})
