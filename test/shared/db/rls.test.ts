import { beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../../shared/db/database.ts'
import { listOrganizations, resolveOrganizationByHost } from '../../../shared/db/organizations.ts'
import { createTestDatabase, runtimeDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization, seedUser } from '../../support/seed.ts'

const TENANT_TABLES = [
  'organizations',
  'organization_domains',
  'users',
  'applications',
  'application_secrets',
  'audit_events',
]

let db: TestDatabase
let runtime: Database
let orgA: string
let orgB: string

const database = (url: string, poolMax = 2) => runtimeDatabase(url, { poolMax })

beforeAll(async () => {
  db = await createTestDatabase()
  orgA = await seedOrganization(db, { slug: 'org-a', domain: 'a.example.test', isDefault: true })
  orgB = await seedOrganization(db, { slug: 'org-b', domain: 'b.example.test' })
  for (const [org, tag] of [
    [orgA, 'a'],
    [orgB, 'b'],
  ] as const) {
    const user = await seedUser(db, org, `user@${tag}.test`)
    const [app] = await db.sql<{ id: string }>(
      `INSERT INTO applications (organization_id, client_id, name, type, token_endpoint_auth_method)
       VALUES ($1, $2, $3, 'service', 'client_secret_basic') RETURNING id`,
      [org, `client-${tag}-0001`, `app ${tag}`],
    )
    await db.sql(
      'INSERT INTO application_secrets (organization_id, application_id, digest) VALUES ($1, $2, $3)',
      [org, app!.id, Buffer.alloc(32, 1)],
    )
    await db.sql(
      `INSERT INTO audit_events (organization_id, actor_type, action, result, target_id) VALUES ($1, 'system', 'test', 'success', $2)`,
      [org, user],
    )
  }
  runtime = database(db.appUrl)
  return () => runtime.close()
})

describe('row-level security', () => {
  it.each(TENANT_TABLES)(
    'shows organization A none of B’s rows in %s, with no WHERE clause',
    async (table) => {
      const rows = await runtime.inOrganization(
        orgA,
        async (q) => (await q.query(`SELECT * FROM ${table}`)).rows,
      )
      expect(rows.length).toBeGreaterThan(0)
      for (const row of rows) expect(row.organization_id ?? row.id).toBe(orgA)
    },
  )

  it.each(TENANT_TABLES)('shows a transaction without an organization no rows of %s', async (table) => {
    const rows = await runtime.withoutOrganization(
      async (q) => (await q.query(`SELECT * FROM ${table}`)).rows,
    )
    expect(rows).toEqual([])
  })

  it.each(TENANT_TABLES)(
    'shows a single statement (Database.statement) of organization A none of B’s rows in %s',
    async (table) => {
      const { rows } = await runtime.statement(orgA, `SELECT * FROM ${table}`)
      expect(rows.length).toBeGreaterThan(0)
      for (const row of rows) expect(row.organization_id ?? row.id).toBe(orgA)
    },
  )

  it('drops a single statement to the runtime role even on a superuser’s connection, and only for that statement', async () => {
    // One connection, so the last query below runs where the statements ran.
    const superuser = database(db.ownerUrl, 1)
    try {
      const { rows } = await superuser.statement<{ role: string; org: string }>(
        orgB,
        "SELECT current_user AS role, current_setting('app.org_id') AS org",
      )
      expect(rows).toEqual([{ role: 'zenoauth_runtime', org: orgB }])
      const { rows: written } = await superuser.statement(
        orgB,
        'UPDATE users SET email_verified = email_verified WHERE $1 RETURNING organization_id',
        [true],
      )
      expect(written.map((r) => r.organization_id)).toEqual([orgB])
      // The next statement on a pool connection, outside any scope, is the login role again.
      const after = await superuser.pool.query(
        "SELECT current_user AS role, coalesce(current_setting('app.org_id', true), '') AS org",
      )
      expect(after.rows[0].role).not.toBe('zenoauth_runtime')
      expect(after.rows[0].org).toBe('')
    } finally {
      await superuser.close()
    }
  })

  it('confines an UPDATE without WHERE to the organization', async () => {
    await runtime.inOrganization(orgA, (q) => q.query("UPDATE users SET name = 'renamed'"))
    const names = await db.sql<{ organization_id: string; name: string | null }>(
      'SELECT organization_id, name FROM users',
    )
    expect(names.find((r) => r.organization_id === orgA)?.name).toBe('renamed')
    expect(names.find((r) => r.organization_id === orgB)?.name).toBeNull()
  })

  it('refuses to write a row into another organization (WITH CHECK)', async () => {
    await expect(
      runtime.inOrganization(orgA, (q) =>
        q.query('INSERT INTO users (organization_id, email) VALUES ($1, $2)', [orgB, 'x@b.test']),
      ),
    ).rejects.toMatchObject({ code: '42501' })
    expect(await db.sql('SELECT 1 FROM users WHERE email = $1', ['x@b.test'])).toEqual([])
  })

  it('cannot be switched off, escaped or altered by the runtime role', async () => {
    const attempts = [
      'SET LOCAL row_security = off; SELECT * FROM users',
      'ALTER TABLE users NO FORCE ROW LEVEL SECURITY',
      'ALTER TABLE users DISABLE ROW LEVEL SECURITY',
      'DROP POLICY tenant_isolation ON users',
      'SET LOCAL ROLE postgres',
    ]
    for (const sql of attempts) {
      await expect(
        runtime.inOrganization(orgA, (q) => q.query(sql)),
        sql,
      ).rejects.toThrow()
    }
  })

  it('still confines a transaction that resets its role to the login role', async () => {
    const rows = await runtime.inOrganization(orgA, async (q) => {
      await q.query('RESET ROLE')
      return (await q.query('SELECT current_user AS who, organization_id FROM users')).rows
    })
    expect(rows).toEqual([{ who: 'zenoauth_app', organization_id: orgA }])
  })

  it('keeps audit events append-only', async () => {
    await expect(
      runtime.inOrganization(orgA, (q) => q.query("UPDATE audit_events SET action = 'x'")),
    ).rejects.toMatchObject({ code: '42501' })
    await expect(
      runtime.inOrganization(orgA, (q) => q.query('DELETE FROM audit_events')),
    ).rejects.toMatchObject({ code: '42501' })
  })

  it('applies even when the connection string is a superuser’s: every transaction drops to the runtime role', async () => {
    const superuser = database(db.ownerUrl)
    try {
      const rows = await superuser.inOrganization(
        orgA,
        async (q) => (await q.query('SELECT organization_id FROM users')).rows,
      )
      expect(rows.map((r) => r.organization_id)).toEqual([orgA])
    } finally {
      await superuser.close()
    }
  })

  it('resolves hosts and lists organizations only through the directory functions', async () => {
    // One transaction is one connection: its queries run one after another.
    const [a, b, other] = await runtime.withoutOrganization(async (q) => [
      await resolveOrganizationByHost(q, 'a.example.test'),
      await resolveOrganizationByHost(q, 'B.EXAMPLE.TEST'),
      await resolveOrganizationByHost(q, 'unclaimed.test'),
    ])
    expect([a?.slug, b?.slug, other?.slug]).toEqual(['org-a', 'org-b', 'org-a'])
    const all = await runtime.withoutOrganization((q) => listOrganizations(q))
    expect(all.map((o) => o.slug).sort()).toEqual(['org-a', 'org-b'])
  })

  it('is enabled and forced on every table with an organization_id, none owned by the runtime', async () => {
    const tables = await db.sql<{ table: string; rls: boolean; forced: boolean; owner: string }>(
      `SELECT c.relname AS table, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced, pg_get_userbyid(c.relowner) AS owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind = 'r'
          AND (EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped)
               OR c.relname = 'organizations')`,
    )
    // Every tenant table, including those later migrations add, not only the ones seeded here.
    expect(tables.map((t) => t.table)).toEqual(expect.arrayContaining(TENANT_TABLES))
    for (const t of tables) {
      expect(t, t.table).toMatchObject({ rls: true, forced: true })
      const [member] = await db.sql<{ m: boolean }>("SELECT pg_has_role('zenoauth_app', $1, 'MEMBER') AS m", [
        t.owner,
      ])
      expect(member?.m, `${t.table} is owned by ${t.owner}`).toBe(false)
    }
  })
})
