/** The organization as the admin API shows it, and its renaming. */
import * as z from 'zod'
import { type AuditEvent, insertAuditEvent } from '../db/audit.ts'
import type { Queryable } from '../db/database.ts'
import { renameOrganization } from '../db/organizations.ts'
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

/**
 * Renames organization `id` in the caller's transaction and audits it (`organization.renamed`)
 * when the name changed. Resolves to the name it had (undefined: no such organization).
 */
export async function renameOrganizationAudited(
  q: Queryable,
  id: string,
  name: string,
  actor: Pick<AuditEvent, 'actorType' | 'actorId' | 'ip' | 'userAgent' | 'requestId'>,
): Promise<string | undefined> {
  const previous = await renameOrganization(q, id, name)
  if (previous !== undefined && previous !== name) {
    await insertAuditEvent(q, id, {
      ...actor,
      action: 'organization.renamed',
      targetType: 'organization',
      targetId: id,
      result: 'success',
      details: { from: previous, to: name },
    })
  }
  return previous
}
