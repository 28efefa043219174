import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Database } from '../../../shared/db/database.ts'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization } from '../../support/seed.ts'

let db: TestDatabase
let runtime: Database
let org: string

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'org-a', domain: 'a.example.test', isDefault: true })
  // One connection, so every transaction below sees the statements the previous ones prepared.
  runtime = new Database({
    url: db.appUrl,
    poolMax: 1,
    statementTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    runtimeRole: 'zenoauth_runtime',
    applicationName: 'database-test',
  })
})
afterAll(() => runtime.close())

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
})
