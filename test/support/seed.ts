/** Rows written directly as the superuser, for tests that need a tenant to exist. */
import { randomUUID } from 'node:crypto'
import type { TestDatabase } from './database.ts'

export async function seedOrganization(
  db: TestDatabase,
  org: { slug: string; isDefault?: boolean; domain?: string; name?: string },
): Promise<string> {
  const id = randomUUID()
  await db.sql('INSERT INTO organizations (id, slug, name, is_default) VALUES ($1, $2, $3, $4)', [
    id,
    org.slug,
    org.name ?? org.slug,
    org.isDefault ?? false,
  ])
  if (org.domain) {
    await db.sql(
      'INSERT INTO organization_domains (organization_id, domain, is_primary) VALUES ($1, $2, true)',
      [id, org.domain],
    )
  }
  return id
}

export async function seedUser(db: TestDatabase, organizationId: string, email: string): Promise<string> {
  const [row] = await db.sql<{ id: string }>(
    'INSERT INTO users (organization_id, email) VALUES ($1, $2) RETURNING id',
    [organizationId, email],
  )
  return row!.id
}
