/** SQL for users. */
import type { Queryable } from './database.ts'

export interface NewUser {
  readonly email: string
  readonly passwordHash: string | null
  readonly name?: string | null
  readonly emailVerified?: boolean
}

export async function insertUser(
  q: Queryable,
  organizationId: string,
  user: NewUser,
): Promise<{ id: string }> {
  const { rows } = await q.query<{ id: string }>(
    `INSERT INTO users (organization_id, email, password_hash, name, email_verified)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [organizationId, user.email, user.passwordHash, user.name ?? null, user.emailVerified ?? false],
  )
  return rows[0]!
}
