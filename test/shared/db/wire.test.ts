/**
 * The contract between shared/db/wire.ts and node-postgres's internals (pg's Query and
 * Connection, not public API). Run against a real PostgreSQL: if a pg upgrade changes what
 * wire.ts relies on, a test here fails by name before anything subtler does.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scopeValues } from '../../../shared/db/database.ts'
import { BEGIN, PG_VERSION, run, SCOPE } from '../../../shared/db/wire.ts'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization } from '../../support/seed.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')
const require = createRequire(import.meta.url)

let db: TestDatabase
let org: string
let client: pg.Client

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'wire', domain: 'wire.example.test', isDefault: true })
  client = new pg.Client({ connectionString: db.appUrl })
  await client.connect()
  // As Database.checkOut prepares them on every pooled connection.
  await client.query({ name: SCOPE.name, text: SCOPE.text, values: scope() })
  await client.query({ name: BEGIN, text: 'BEGIN' })
  await client.query('ROLLBACK')
})
afterAll(() => client?.end())

const scope = (organizationId = org) => scopeValues('zenoauth_runtime', organizationId, 5000, {})
const asPool = () => client as unknown as pg.PoolClient

describe('pg version', () => {
  it('is the exact version wire.ts was written against, pinned in package.json', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
    const installed = JSON.parse(readFileSync(require.resolve('pg/package.json'), 'utf8')).version
    expect(pkg.dependencies.pg).toBe(PG_VERSION)
    expect(installed).toBe(PG_VERSION)
  })

  it("pg's Query still has the methods wire.ts overrides", () => {
    const proto = (pg.Query as unknown as { prototype: Record<string, unknown> }).prototype
    for (const method of ['prepare', 'handleDataRow', 'handleCommandComplete', 'handleRowDescription'])
      expect(typeof proto[method], method).toBe('function')
  })
})

describe('a scoped statement', () => {
  it('opens the transaction and scopes it in the same write; the caller sees only its own rows', async () => {
    const result = await run<{ org: string; role: string }>(
      asPool(),
      "SELECT current_setting('app.org_id') AS org, current_user AS role",
      [],
      scope(),
    )
    expect(result.rows).toEqual([{ org, role: 'zenoauth_runtime' }])
    expect(result.command).toBe('SELECT')
    expect(result.fields.map((f) => f.name)).toEqual(['org', 'role'])
    // Still in the transaction BEGIN opened: the scope holds for the next statement, then ends.
    const next = await client.query("SELECT current_setting('app.org_id') AS org")
    expect(next.rows).toEqual([{ org }])
    await client.query('ROLLBACK')
    const after = await client.query("SELECT current_setting('app.org_id', true) AS org")
    expect(after.rows[0].org ?? '').toBe('')
  })

  it('without BEGIN, shares the implicit transaction that ends at Sync', async () => {
    const result = await run<{ org: string }>(
      asPool(),
      "SELECT current_setting('app.org_id') AS org",
      [],
      scope(),
      false,
    )
    expect(result.rows).toEqual([{ org }])
    const after = await client.query("SELECT current_setting('app.org_id', true) AS org, now() AS t")
    expect(after.rows[0].org ?? '').toBe('')
  })

  it('fails alone on a PostgreSQL error, and the connection stays usable', async () => {
    await expect(
      run(asPool(), 'SELECT no_such_column FROM organizations', [], scope()),
    ).rejects.toMatchObject({
      code: '42703',
    })
    await client.query('ROLLBACK')
    const ok = await run<{ n: number }>(asPool(), 'SELECT 1 AS n', [], scope())
    expect(ok.rows).toEqual([{ n: 1 }])
    await client.query('ROLLBACK')
  })

  it('is prepared once per connection, by name, and its Date parameters keep their instant', async () => {
    const text = 'SELECT $1::timestamptz AS at, $2::text AS label'
    const when = new Date('2026-03-29T01:30:00.123Z')
    for (let i = 0; i < 2; i++) {
      const r = await run<{ at: Date; label: string }>(asPool(), text, [when, `run ${i}`], undefined)
      expect(r.rows[0]!.at.toISOString()).toBe(when.toISOString())
      expect(r.rows[0]!.label).toBe(`run ${i}`)
    }
    const prepared = await client.query<{ statement: string }>(
      'SELECT statement FROM pg_prepared_statements WHERE statement = $1',
      [text],
    )
    expect(prepared.rows).toHaveLength(1)
  })

  it('returns many rows and the affected count of a write', async () => {
    const many = await run<{ n: number }>(asPool(), 'SELECT generate_series(1, 500) AS n', [], scope())
    expect(many.rows).toHaveLength(500)
    expect(many.rowCount).toBe(500)
    const write = await run(
      asPool(),
      "UPDATE organizations SET name = name WHERE id = current_setting('app.org_id')::uuid",
      [],
      scope(),
    )
    expect(write.command).toBe('UPDATE')
    expect(write.rowCount).toBe(1)
    await client.query('ROLLBACK')
  })
})
