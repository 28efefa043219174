/** Rename this organization or change its settings; a null setting removes it (back to the default). */
import * as z from 'zod'
import {
  OrganizationName,
  OrganizationResource,
  organizationResource,
  renameOrganizationAudited,
} from '../../shared/admin/organization.ts'
import { notifyChange } from '../../shared/cache/invalidation.ts'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { mergeOrganizationSettings } from '../../shared/db/organizations.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'

const limit = (min: number, max: number) => z.number().int().min(min).max(max).nullable().optional()

const Settings = z
  .strictObject({
    registration_policy: z.enum(['open', 'initial_access_token']).nullable().optional(),
    access_token_signing_alg: z.enum(['EdDSA', 'ES256', 'RS256']).nullable().optional(),
    session_idle_seconds: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .nullable()
      .optional(),
    session_max_seconds: z
      .number()
      .int()
      .min(300)
      .max(90 * 86_400)
      .nullable()
      .optional(),
    login_per_ip_per_minute: limit(1, 100_000),
    login_per_account_per_minute: limit(1, 10_000),
    lockout_threshold: limit(1, 1000),
    refresh_per_family_per_minute: limit(1, 1_000_000),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'must change at least one setting' })

export default defineFunction({
  plane: 'admin',
  method: 'PATCH',
  path: '/api/v1/organization',
  scope: 'organization:write',
  body: z
    .strictObject({ name: OrganizationName.optional(), settings: Settings.optional() })
    .refine((v) => v.name !== undefined || v.settings !== undefined, {
      message: 'must change the name or at least one setting',
    }),
  docs: {
    summary: 'Rename the organization or update its settings',
    responses: {
      200: { description: 'The organization, with all its settings now.', schema: OrganizationResource },
    },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    const { name, settings } = ctx.body
    const merged = await ctx.db.transaction(async (q) => {
      if (name !== undefined) await renameOrganizationAudited(q, ctx.org.id, name, actor.audit)
      let all = ctx.org.settings
      if (settings) {
        all = await mergeOrganizationSettings(q, ctx.org.id, settings)
        await insertAuditEvent(q, ctx.org.id, {
          ...actor.audit,
          action: 'organization.settings_changed',
          targetType: 'organization',
          targetId: ctx.org.id,
          result: 'success',
          details: { changed: settings },
        })
      }
      await notifyChange(q, 'organization', ctx.org.id)
      return all
    })
    return json(organizationResource({ ...ctx.org, name: name ?? ctx.org.name, settings: merged }))
  },
})
