import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Database, DatabaseOptions } from '../../../shared/db/database.ts'
import { Unavailable } from '../../../shared/db/unavailable.ts'
import { createTestDatabase, runtimeDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization } from '../../support/seed.ts'

let db: TestDatabase
let runtime: Database
let org: string

/** The runtime's Database on one connection, so each statement sees what the previous prepared. */
const connect = (options: Partial<DatabaseOptions> = {}) =>
  runtimeDatabase(db.appUrl, { poolMax: 1, ...options })

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'org-a', domain: 'a.example.test', isDefault: true })
  // One connection, so every transaction below sees the statements the previous ones prepared.
  runtime = connect()
})
afterAll(() => runtime.close())

const currentDatabase = async () =>
  (await db.sql<{ name: string }>('SELECT current_database() AS name'))[0]!.name

const prepared = () =>
  runtime.inOrganization(org, async (q) => {
    const { rows } = await q.query<{ statement: string }>('SELECT statement FROM pg_prepared_statements')
    return rows.map((r) => r.statement)
  })

describe('Database', () => {
  it('prepares each statement once per connection and reuses it', async () => {
    const read = () =>
      runtime.inOrganization(org, async (q) => (await q.query('SELECT slug FROM organizations')).rows)
    expect(await read()).toEqual([{ slug: 'org-a' }])
    expect(await read()).toEqual([{ slug: 'org-a' }])
    const statements = await prepared()
    expect(statements.filter((s) => s === 'SELECT slug FROM organizations')).toHaveLength(1)
  })

  it('survives a migration changing a table under a prepared statement', async () => {
    await db.sql('CREATE TABLE plan_probe (id int)')
    await db.sql('GRANT SELECT ON plan_probe TO zenoauth_runtime')
    await db.sql('INSERT INTO plan_probe VALUES (1)')
    const read = () =>
      runtime.inOrganization(org, async (q) => (await q.query('SELECT * FROM plan_probe')).rows)
    expect(await read()).toEqual([{ id: 1 }])
    // Expand: a new column changes what SELECT * returns; PostgreSQL refuses the cached plan.
    await db.sql("ALTER TABLE plan_probe ADD COLUMN note text DEFAULT 'new'")
    expect(await read()).toEqual([{ id: 1, note: 'new' }])
  })

  it('rolls back and rethrows what the transaction threw', async () => {
    await db.sql('CREATE TABLE rollback_probe (id int)')
    await db.sql('GRANT SELECT, INSERT ON rollback_probe TO zenoauth_runtime')
    await expect(
      runtime.inOrganization(org, async (q) => {
        await q.query('INSERT INTO rollback_probe VALUES ($1)', [1])
        throw new Error('handler failed')
      }),
    ).rejects.toThrow('handler failed')
    expect(await db.sql('SELECT * FROM rollback_probe')).toEqual([])
  })

  it('opens a transaction with its first statement: scoped, one transaction, and nothing sent for none', async () => {
    const seen = await runtime.inOrganization(org, async (q) => {
      const first = await q.query<{ role: string; org: string; tx: string; timeout: string }>(
        "SELECT current_user AS role, current_setting('app.org_id') AS org, txid_current()::text AS tx, current_setting('statement_timeout') AS timeout",
      )
      const second = await q.query<{ tx: string }>('SELECT txid_current()::text AS tx')
      return { ...first.rows[0]!, again: second.rows[0]!.tx }
    })
    expect(seen).toEqual({ role: 'zenoauth_runtime', org, tx: seen.again, timeout: '5s', again: seen.again })
    // A transaction that runs no statement sends nothing; the connection stays usable.
    expect(await runtime.inOrganization(org, async () => 'nothing')).toBe('nothing')
    expect((await runtime.statement(org, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  })

  it('turns synchronous_commit off for a non-durable transaction only', async () => {
    // The test cluster itself runs with synchronous_commit off; a durable transaction keeps
    // whatever the server says, so switch the server's default on for this database.
    await db.sql(`ALTER DATABASE ${await currentDatabase()} SET synchronous_commit = on`)
    const fresh = connect()
    try {
      const setting = (durable: boolean) =>
        fresh.inOrganization(
          org,
          async (q) =>
            (await q.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]!.s,
          { durable },
        )
      expect(await setting(false)).toBe('off')
      expect(await setting(true)).toBe('on')
      expect(await setting(false)).toBe('off')
    } finally {
      await fresh.close()
    }
  })

  it('rolls back a transaction whose first statement fails and keeps the connection usable', async () => {
    await db.sql('CREATE TABLE first_failure_probe (id int PRIMARY KEY)')
    await db.sql('GRANT SELECT, INSERT ON first_failure_probe TO zenoauth_runtime')
    await db.sql('INSERT INTO first_failure_probe VALUES (1)')
    await expect(
      runtime.inOrganization(org, (q) =>
        q.query('INSERT INTO first_failure_probe VALUES ($1), ($2)', [2, 1]),
      ),
    ).rejects.toMatchObject({ code: '23505' })
    expect(await db.sql('SELECT id FROM first_failure_probe ORDER BY id')).toEqual([{ id: 1 }])
    expect(await runtime.inOrganization(org, async (q) => (await q.query('SELECT 2 AS two')).rows)).toEqual([
      { two: 2 },
    ])
  })

  it('prepares a first statement again after PostgreSQL refused to parse it', async () => {
    await db.sql('CREATE TABLE parse_probe (id int)')
    await db.sql('GRANT SELECT ON parse_probe TO zenoauth_runtime')
    await db.sql('INSERT INTO parse_probe VALUES (7)')
    const read = () =>
      runtime.inOrganization(org, async (q) => (await q.query('SELECT id, added FROM parse_probe')).rows)
    // A release ahead of its migration: the column does not exist yet.
    await expect(read()).rejects.toMatchObject({ code: '42703' })
    await db.sql("ALTER TABLE parse_probe ADD COLUMN added text DEFAULT 'yes'")
    expect(await read()).toEqual([{ id: 7, added: 'yes' }])
  })

  describe('statement (one statement, one round trip)', () => {
    it('runs scoped, with or without values, and returns only its own result', async () => {
      const { rows, rowCount } = await runtime.statement<{ role: string; org: string; slug: string }>(
        org,
        "SELECT current_user AS role, current_setting('app.org_id') AS org, slug FROM organizations",
      )
      expect(rowCount).toBe(1)
      expect(rows).toEqual([{ role: 'zenoauth_runtime', org, slug: 'org-a' }])
      const withValues = await runtime.statement<{ n: number }>(org, 'SELECT $1::int + 1 AS n', [41])
      expect(withValues.rows).toEqual([{ n: 42 }])
    })

    it('commits what it writes, and writes nothing when it fails', async () => {
      await db.sql('CREATE TABLE statement_probe (id int PRIMARY KEY)')
      await db.sql('GRANT SELECT, INSERT ON statement_probe TO zenoauth_runtime')
      await runtime.statement(org, 'INSERT INTO statement_probe VALUES ($1)', [1])
      expect(await db.sql('SELECT id FROM statement_probe')).toEqual([{ id: 1 }])
      // The second row would be new, the third is a duplicate: the statement is all or nothing.
      await expect(
        runtime.statement(org, 'INSERT INTO statement_probe VALUES ($1), ($2)', [2, 1]),
      ).rejects.toMatchObject({ code: '23505' })
      expect(await db.sql('SELECT id FROM statement_probe ORDER BY id')).toEqual([{ id: 1 }])
      // A failed statement leaves nothing behind on its connection.
      const { rows } = await runtime.statement<{ open: boolean }>(
        org,
        'SELECT txid_current_if_assigned() IS NULL AS open',
      )
      expect(rows).toEqual([{ open: true }])
    })

    it('is cut off by the statement timeout: Unavailable, a 503 to the client', async () => {
      const impatient = connect({ statementTimeoutMs: 50 })
      try {
        await expect(impatient.statement(org, 'SELECT pg_sleep(1)')).rejects.toBeInstanceOf(Unavailable)
        expect((await impatient.statement(org, 'SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      } finally {
        await impatient.close()
      }
    })

    it('refuses an organization that is not a UUID', async () => {
      await expect(runtime.statement("x'; DROP TABLE users; --", 'SELECT 1')).rejects.toThrow(TypeError)
    })
  })
})
