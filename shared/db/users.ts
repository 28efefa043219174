/** SQL for users. */
import type { Queryable } from './database.ts'

/** OpenID Connect Core §5.1.1 address claim. */
export interface Address {
  readonly formatted?: string
  readonly street_address?: string
  readonly locality?: string
  readonly region?: string
  readonly postal_code?: string
  readonly country?: string
}

/** The standard claims kept in users.profile (the rest have columns). */
export interface Profile {
  readonly middle_name?: string
  readonly nickname?: string
  readonly preferred_username?: string
  readonly profile?: string
  readonly picture?: string
  readonly website?: string
  readonly gender?: string
  readonly birthdate?: string
  readonly zoneinfo?: string
  readonly address?: Address
}

export interface User {
  readonly id: string
  readonly organizationId: string
  readonly email: string
  readonly emailVerified: boolean
  readonly passwordHash: string | null
  readonly name: string | null
  readonly givenName: string | null
  readonly familyName: string | null
  readonly phoneNumber: string | null
  readonly phoneNumberVerified: boolean
  readonly locale: string | null
  readonly profile: Profile
  readonly isActive: boolean
  readonly passwordChangedAt: Date | null
  readonly createdAt: Date
  readonly updatedAt: Date
}

export interface NewUser {
  readonly email: string
  readonly passwordHash: string | null
  readonly name?: string | null
  readonly givenName?: string | null
  readonly familyName?: string | null
  readonly emailVerified?: boolean
  readonly phoneNumber?: string | null
  readonly phoneNumberVerified?: boolean
  readonly locale?: string | null
  readonly profile?: Profile
  readonly isActive?: boolean
}

interface UserRecord {
  id: string
  organization_id: string
  email: string
  email_verified: boolean
  password_hash: string | null
  name: string | null
  given_name: string | null
  family_name: string | null
  phone_number: string | null
  phone_number_verified: boolean
  locale: string | null
  profile: Profile
  is_active: boolean
  password_changed_at: Date | null
  created_at: Date
  updated_at: Date
}

const USER_COLUMNS = [
  'id',
  'organization_id',
  'email',
  'email_verified',
  'password_hash',
  'name',
  'given_name',
  'family_name',
  'phone_number',
  'phone_number_verified',
  'locale',
  'profile',
  'is_active',
  'password_changed_at',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof UserRecord)[]

/** The users columns of `alias` as `u_<column>`, for a statement that joins a user in. */
export function prefixedUserColumns(alias: string): string {
  return USER_COLUMNS.map((c) => `${alias}.${c} AS u_${c}`).join(', ')
}

/** The user of a row selected with prefixedUserColumns; undefined when the join found none. */
export function userOfPrefixed(row: Readonly<Record<string, unknown>>): User | undefined {
  if (row.u_id == null) return undefined
  return toUser(Object.fromEntries(USER_COLUMNS.map((c) => [c, row[`u_${c}`]])) as unknown as UserRecord)
}

const toUser = (r: UserRecord): User => ({
  id: r.id,
  organizationId: r.organization_id,
  email: r.email,
  emailVerified: r.email_verified,
  passwordHash: r.password_hash,
  name: r.name,
  givenName: r.given_name,
  familyName: r.family_name,
  phoneNumber: r.phone_number,
  phoneNumberVerified: r.phone_number_verified,
  locale: r.locale,
  profile: r.profile,
  isActive: r.is_active,
  passwordChangedAt: r.password_changed_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export async function insertUser(q: Queryable, organizationId: string, user: NewUser): Promise<User> {
  const { rows } = await q.query<UserRecord>(
    `INSERT INTO users (organization_id, email, password_hash, name, given_name, family_name, email_verified,
       phone_number, phone_number_verified, locale, profile, is_active, password_changed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $3::text IS NULL THEN NULL ELSE now() END)
     RETURNING *`,
    [
      organizationId,
      user.email,
      user.passwordHash,
      user.name ?? null,
      user.givenName ?? null,
      user.familyName ?? null,
      user.emailVerified ?? false,
      user.phoneNumber ?? null,
      user.phoneNumberVerified ?? false,
      user.locale ?? null,
      user.profile ?? {},
      user.isActive ?? true,
    ],
  )
  return toUser(rows[0]!)
}

/**
 * A user by id. `forUpdate` locks the row until the transaction ends: a read-modify-write
 * then cannot lose a concurrent change, nor write to a user deleted in between.
 */
export async function findUserById(
  q: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<User | undefined> {
  const { rows } = await q.query<UserRecord>(
    options.forUpdate ? 'SELECT * FROM users WHERE id = $1 FOR UPDATE' : 'SELECT * FROM users WHERE id = $1',
    [id],
  )
  return rows[0] && toUser(rows[0])
}

/**
 * What a sign-in needs to know before the password check, in one round trip: the user with
 * this email, if any, and the login failures recorded for the email's digest, if any.
 */
export async function findLoginSubject(
  q: Queryable,
  email: string,
  emailDigest: Buffer,
): Promise<{ user: User | undefined; lock: { failures: number; lockedUntil: Date | null } | undefined }> {
  const { rows } = await q.query<
    UserRecord & { login_failures: number | null; login_locked_until: Date | null }
  >(
    `SELECT u.*, f.failures AS login_failures, f.locked_until AS login_locked_until
     FROM (SELECT 1) AS one
     LEFT JOIN users u ON lower(u.email) = lower($1)
     LEFT JOIN login_failures f ON f.email_digest = $2`,
    [email, emailDigest],
  )
  const row = rows[0]!
  return {
    user: row.id === null ? undefined : toUser(row),
    lock:
      row.login_failures === null
        ? undefined
        : { failures: row.login_failures, lockedUntil: row.login_locked_until },
  }
}

/** By email, case-insensitively (the unique index is on lower(email)). */
export async function findUserByEmail(q: Queryable, email: string): Promise<User | undefined> {
  const { rows } = await q.query<UserRecord>('SELECT * FROM users WHERE lower(email) = lower($1)', [email])
  return rows[0] && toUser(rows[0])
}

/** One page in creation order, optionally only emails containing `email` (case-insensitive). */
export async function listUsers(
  q: Queryable,
  page: { limit: number; after?: { at: string; id: string } | undefined; email?: string | undefined },
): Promise<{ user: User; position: { at: string; id: string } }[]> {
  const params: unknown[] = [page.limit]
  const where: string[] = []
  if (page.after) {
    params.push(page.after.at, page.after.id)
    where.push(`(created_at, id) > ($${params.length - 1}::timestamptz, $${params.length})`)
  }
  if (page.email) {
    params.push(`%${page.email.toLowerCase().replace(/[\\%_]/g, '\\$&')}%`)
    where.push(`lower(email) LIKE $${params.length}`)
  }
  const { rows } = await q.query<UserRecord & { position_at: string }>(
    `SELECT *, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position_at
       FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at, id LIMIT $1`,
    params,
  )
  return rows.map((r) => ({ user: toUser(r), position: { at: r.position_at, id: r.id } }))
}

/** Replaces the editable fields; returns the user as stored. */
export async function updateUser(
  q: Queryable,
  id: string,
  user: Omit<NewUser, 'passwordHash'> & { isActive: boolean },
): Promise<User | undefined> {
  const { rows } = await q.query<UserRecord>(
    `UPDATE users SET email = $2, name = $3, given_name = $4, family_name = $5, email_verified = $6,
       phone_number = $7, phone_number_verified = $8, locale = $9, profile = $10, is_active = $11, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [
      id,
      user.email,
      user.name ?? null,
      user.givenName ?? null,
      user.familyName ?? null,
      user.emailVerified ?? false,
      user.phoneNumber ?? null,
      user.phoneNumberVerified ?? false,
      user.locale ?? null,
      user.profile ?? {},
      user.isActive,
    ],
  )
  return rows[0] && toUser(rows[0])
}

export async function setUserPassword(q: Queryable, id: string, passwordHash: string): Promise<boolean> {
  const { rowCount } = await q.query(
    'UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1',
    [id, passwordHash],
  )
  return rowCount === 1
}

/** A rehash at login with new parameters: the password itself did not change. */
export async function replacePasswordHash(q: Queryable, id: string, passwordHash: string): Promise<void> {
  await q.query('UPDATE users SET password_hash = $2 WHERE id = $1', [id, passwordHash])
}

export async function deleteUser(q: Queryable, id: string): Promise<User | undefined> {
  const { rows } = await q.query<UserRecord>('DELETE FROM users WHERE id = $1 RETURNING *', [id])
  return rows[0] && toUser(rows[0])
}
