/** SQL for organizations and their domains (the tenant directory). */
import type { Queryable } from './database.ts'

export interface OrganizationRow {
  readonly id: string
  readonly slug: string
  readonly name: string
  readonly isDefault: boolean
  readonly settings: Readonly<Record<string, unknown>>
  readonly primaryDomain: string | null
}

interface OrganizationRecord {
  id: string
  slug: string
  name: string
  is_default: boolean
  settings: Record<string, unknown>
  primary_domain: string | null
}

const toOrganization = (r: OrganizationRecord): OrganizationRow => ({
  id: r.id,
  slug: r.slug,
  name: r.name,
  isDefault: r.is_default,
  settings: r.settings,
  primaryDomain: r.primary_domain,
})

/** The organization answering on `host` (a domain it claims, else the default), if any. */
export async function resolveOrganizationByHost(
  q: Queryable,
  host: string,
): Promise<OrganizationRow | undefined> {
  const { rows } = await q.query<OrganizationRecord>('SELECT * FROM zenoauth_resolve_organization($1)', [
    host,
  ])
  return rows[0] && toOrganization(rows[0])
}

export async function listOrganizations(
  q: Queryable,
): Promise<{ id: string; slug: string; isDefault: boolean }[]> {
  const { rows } = await q.query<{ id: string; slug: string; is_default: boolean }>(
    'SELECT id, slug, is_default FROM zenoauth_list_organizations()',
  )
  return rows.map((r) => ({ id: r.id, slug: r.slug, isDefault: r.is_default }))
}

/** Inserts an organization; the transaction must be scoped to `id` (RLS WITH CHECK). */
export async function insertOrganization(
  q: Queryable,
  org: { id: string; slug: string; name: string; isDefault: boolean },
): Promise<void> {
  await q.query('INSERT INTO organizations (id, slug, name, is_default) VALUES ($1, $2, $3, $4)', [
    org.id,
    org.slug,
    org.name,
    org.isDefault,
  ])
}

export async function insertOrganizationDomain(
  q: Queryable,
  domain: { organizationId: string; domain: string; isPrimary: boolean },
): Promise<void> {
  await q.query(
    'INSERT INTO organization_domains (organization_id, domain, is_primary) VALUES ($1, $2, $3)',
    [domain.organizationId, domain.domain, domain.isPrimary],
  )
}

/** Merges settings into the organization's (a null value removes one); returns them all. */
export async function mergeOrganizationSettings(
  q: Queryable,
  id: string,
  settings: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const { rows } = await q.query<{ settings: Record<string, unknown> }>(
    `UPDATE organizations SET settings = jsonb_strip_nulls(settings || $2::jsonb), updated_at = now() WHERE id = $1 RETURNING settings`,
    [id, JSON.stringify(settings)],
  )
  return rows[0]?.settings ?? {}
}

/**
 * Renames the organization (what its pages and consent screens show); returns the name it had,
 * or undefined when there is no such organization in scope.
 */
export async function renameOrganization(
  q: Queryable,
  id: string,
  name: string,
): Promise<string | undefined> {
  const { rows } = await q.query<{ previous: string }>(
    `UPDATE organizations o SET name = $2, updated_at = now()
       FROM (SELECT name FROM organizations WHERE id = $1 FOR UPDATE) AS before
      WHERE o.id = $1 RETURNING before.name AS previous`,
    [id, name],
  )
  return rows[0]?.previous
}
