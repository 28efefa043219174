/** The organization as the admin API shows it. */
import * as z from 'zod'
import type { Organization } from '../tenancy.ts'

/** Shown on every page ("Sign in to …") and consent screen: printable text. */
export const OrganizationName = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty' })
  .max(100, { message: 'must be at most 100 characters' })
  .refine((v) => !/\p{Cc}/u.test(v), { message: 'must not contain control characters' })

export const OrganizationResource = z.object({
  id: z.uuid(),
  slug: z.string(),
  name: z.string(),
  issuer: z.string(),
  is_default: z.boolean(),
  settings: z.record(z.string(), z.unknown()),
})

export function organizationResource(org: Organization): z.output<typeof OrganizationResource> {
  return {
    id: org.id,
    slug: org.slug,
    name: org.name,
    issuer: org.issuer,
    is_default: org.isDefault,
    settings: { ...org.settings },
  }
}
