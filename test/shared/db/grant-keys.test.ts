/**
 * The keys of the rows written on every sign-in, code exchange and refresh (migration 0009):
 * sessions, authorization codes, refresh-token families and refresh tokens reference their owner
 * together with the organization, in one foreign key. A row cannot name another organization's
 * owner, deleting an organization still removes them, and writing one leaves the
 * organization's row unlocked.
 */
import pg from 'pg'
import { beforeAll, describe, expect, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization, seedUser } from '../../support/seed.ts'

let db: TestDatabase

const digest = (n: number) => Buffer.alloc(32, n)

async function session(org: string, user: string, n: number): Promise<string> {
  const [row] = await db.sql<{ id: string }>(
    `INSERT INTO sessions (organization_id, user_id, token_digest, auth_time, idle_expires_at, expires_at)
     VALUES ($1, $2, $3, now(), now() + interval '1 hour', now() + interval '1 day') RETURNING id`,
    [org, user, digest(n)],
  )
  return row!.id
}

const code = (org: string, user: string, n: number) =>
  db.sql(
    `INSERT INTO authorization_codes (code_digest, organization_id, client_id, user_id, redirect_uri, scope,
       auth_time, amr, expires_at)
     VALUES ($1, $2, 'client', $3, 'https://rp.test/cb', '{openid}', now(), '{pwd}', now() + interval '1 minute')`,
    [digest(n), org, user],
  )

async function family(org: string, user: string): Promise<string> {
  const [row] = await db.sql<{ id: string }>(
    `INSERT INTO refresh_token_families (organization_id, client_id, user_id, scope, auth_time, amr, expires_at)
     VALUES ($1, 'client', $2, '{openid,offline_access}', now(), '{pwd}', now() + interval '30 days') RETURNING id`,
    [org, user],
  )
  return row!.id
}

const token = (org: string, familyId: string, n: number) =>
  db.sql(
    `INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at)
     VALUES ($1, $2, $3, now() + interval '14 days')`,
    [digest(n), org, familyId],
  )

let orgA: string
let orgB: string
let userA: string
let userB: string

beforeAll(async () => {
  db = await createTestDatabase()
  orgA = await seedOrganization(db, { slug: 'org-a' })
  orgB = await seedOrganization(db, { slug: 'org-b' })
  userA = await seedUser(db, orgA, 'a@a.test')
  userB = await seedUser(db, orgB, 'b@b.test')
})

describe('the keys of sessions, codes and refresh tokens', () => {
  it('refuses a row that names an owner of another organization', async () => {
    const foreignKey = { code: '23503' }
    await expect(session(orgA, userB, 1)).rejects.toMatchObject(foreignKey)
    await expect(code(orgA, userB, 2)).rejects.toMatchObject(foreignKey)
    await expect(family(orgA, userB)).rejects.toMatchObject(foreignKey)
    const familyOfB = await family(orgB, userB)
    await expect(token(orgA, familyOfB, 3)).rejects.toMatchObject(foreignKey)
    // The same rows within one organization are accepted.
    await session(orgB, userB, 4)
    await code(orgB, userB, 5)
    await token(orgB, familyOfB, 6)
  })

  it('leaves the organization’s row unlocked while a transaction writes them', async () => {
    const writer = new pg.Client({ connectionString: db.ownerUrl })
    const other = new pg.Client({ connectionString: db.ownerUrl })
    await writer.connect()
    await other.connect()
    try {
      const familyId = await family(orgA, userA)
      await writer.query('BEGIN')
      await writer.query(
        `INSERT INTO sessions (organization_id, user_id, token_digest, auth_time, idle_expires_at, expires_at)
         VALUES ($1, $2, $3, now(), now() + interval '1 hour', now() + interval '1 day')`,
        [orgA, userA, digest(10)],
      )
      await writer.query(
        `INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at)
         VALUES ($1, $2, $3, now() + interval '14 days')`,
        [digest(11), orgA, familyId],
      )
      // A key check on organizations would hold FOR KEY SHARE on this row until COMMIT.
      const { rows } = await other.query('SELECT id FROM organizations WHERE id = $1 FOR UPDATE NOWAIT', [
        orgA,
      ])
      expect(rows).toEqual([{ id: orgA }])
      await writer.query('COMMIT')
    } finally {
      await writer.end()
      await other.end()
    }
  })

  it('are deleted with their organization, and another organization’s stay', async () => {
    const orgC = await seedOrganization(db, { slug: 'org-c' })
    const userC = await seedUser(db, orgC, 'c@c.test')
    await session(orgC, userC, 20)
    await code(orgC, userC, 21)
    await token(orgC, await family(orgC, userC), 22)
    const count = async (org: string) =>
      (
        await db.sql<{ n: number }>(
          `SELECT (SELECT count(*) FROM sessions WHERE organization_id = $1)
                + (SELECT count(*) FROM authorization_codes WHERE organization_id = $1)
                + (SELECT count(*) FROM refresh_token_families WHERE organization_id = $1)
                + (SELECT count(*) FROM refresh_tokens WHERE organization_id = $1) AS n`,
          [org],
        )
      )[0]!.n
    expect(Number(await count(orgC))).toBe(4)
    const beforeB = Number(await count(orgB))
    await db.sql('DELETE FROM organizations WHERE id = $1', [orgC])
    expect(Number(await count(orgC))).toBe(0)
    expect(Number(await count(orgB))).toBe(beforeB)
  })
})
