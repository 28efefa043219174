import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { checksumOf, type Migration, MigrationChangedError, migrate } from '../../../shared/db/migrate.ts'
import { MIGRATIONS } from '../../../shared/db/migrations.gen.ts'
import { runArtifact } from '../../support/artifact.ts'
import { createTestDatabase } from '../../support/database.ts'
import { TEST_MASTER_KEY } from '../../support/runtime.ts'

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

const ONE: Migration = { name: '0001_t', sql: 'CREATE TABLE t (id int);' }
const TWO: Migration = { name: '0002_u', sql: 'CREATE TABLE u (id int);' }

describe('migrate', () => {
  it('applies every migration once, recording checksums', async () => {
    const db = await createTestDatabase({ empty: true })
    const first = await withClient(db.ownerUrl, (c) => migrate(c))
    expect(first).toEqual({ applied: MIGRATIONS.map((m) => m.name), unknown: [] })
    const second = await withClient(db.ownerUrl, (c) => migrate(c))
    expect(second).toEqual({ applied: [], unknown: [] })
    const recorded = await db.sql<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM zenoauth_migrations ORDER BY name',
    )
    expect(recorded).toEqual(MIGRATIONS.map((m) => ({ name: m.name, checksum: checksumOf(m.sql) })))
  })

  it('refuses an applied migration whose text changed, and applies nothing', async () => {
    const db = await createTestDatabase({ empty: true })
    await withClient(db.ownerUrl, (c) => migrate(c, [ONE]))
    const changed = { ...ONE, sql: 'CREATE TABLE t (id bigint);' }
    const error = await withClient(db.ownerUrl, (c) => migrate(c, [changed, TWO])).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MigrationChangedError)
    expect((error as Error).message).toMatch(
      /^migration 0001_t was changed after it was applied \(recorded checksum [0-9a-f]{12}, file checksum [0-9a-f]{12}\)/,
    )
    expect(await db.sql("SELECT 1 FROM pg_tables WHERE tablename = 'u'")).toEqual([])
  })

  it('applies all pending migrations or none', async () => {
    const db = await createTestDatabase({ empty: true })
    const broken = { name: '0002_broken', sql: 'CREATE TABLE v (id int); SELECT * FROM missing_table;' }
    await expect(withClient(db.ownerUrl, (c) => migrate(c, [ONE, broken]))).rejects.toMatchObject({
      code: '42P01',
    })
    expect(await db.sql("SELECT tablename FROM pg_tables WHERE tablename IN ('t', 'v')")).toEqual([])
    // Even the bookkeeping table went with the rollback.
    expect(await db.sql("SELECT to_regclass('zenoauth_migrations') AS t")).toEqual([{ t: null }])
  })

  it('serializes concurrent migrators on the advisory lock', async () => {
    const db = await createTestDatabase({ empty: true })
    const reports = await Promise.all([1, 2, 3].map(() => withClient(db.ownerUrl, (c) => migrate(c))))
    const applied = reports.flatMap((r) => r.applied)
    expect(applied).toEqual(MIGRATIONS.map((m) => m.name))
  })

  it('reports migrations the database has and this release does not', async () => {
    const db = await createTestDatabase({ empty: true })
    await withClient(db.ownerUrl, (c) => migrate(c, [ONE, TWO]))
    expect(await withClient(db.ownerUrl, (c) => migrate(c, [ONE]))).toEqual({
      applied: [],
      unknown: ['0002_u'],
    })
  })
})

describe('the artifact', () => {
  const env = (db: { appUrl: string; ownerUrl: string }) => ({
    DATABASE_URL: db.appUrl,
    DATABASE_MIGRATION_URL: db.ownerUrl,
    MASTER_KEY: TEST_MASTER_KEY,
    PUBLIC_URL: 'http://localhost:8080',
    PORT: '0',
  })

  it('migrate applies what is pending and then says the database is up to date', async () => {
    const db = await createTestDatabase({ empty: true })
    const first = await runArtifact(['migrate'], env(db))
    expect(first.code).toBe(0)
    expect(first.stdout).toBe(`applied: ${MIGRATIONS.map((m) => m.name).join(', ')}\n`)
    const second = await runArtifact(['migrate'], env(db))
    expect(second.stdout).toBe('database is up to date\n')
  })

  it('serve refuses to start when an applied migration changed', async () => {
    const db = await createTestDatabase()
    await db.sql("UPDATE zenoauth_migrations SET checksum = repeat('0', 64) WHERE name = $1", [
      MIGRATIONS[0]!.name,
    ])
    const r = await runArtifact(['serve'], env(db))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      new RegExp(`^zenoauth: migration ${MIGRATIONS[0]!.name} was changed after it was applied`),
    )
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('migrate explains a role that cannot change the schema', async () => {
    const db = await createTestDatabase({ empty: true })
    const r = await runArtifact(['migrate'], { ...env(db), DATABASE_MIGRATION_URL: db.appUrl })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(
      /^zenoauth: migration failed: .*; set DATABASE_MIGRATION_URL to a role that owns the schema\n$/,
    )
  })
})
