/** Read this organization and its settings. */
import * as z from 'zod'
import { authorizeAdmin } from '../../shared/admin/authorize.ts'
import { defineFunction } from '../../shared/http/define-function.ts'

const OrganizationResource = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  issuer: z.string(),
  is_default: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
})

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
    const { org } = ctx
    return c.json({
      id: org.id,
      slug: org.slug,
      name: org.name,
      issuer: org.issuer,
      is_default: org.isDefault,
      settings: org.settings,
    })
  },
})
