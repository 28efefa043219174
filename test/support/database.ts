/** One database per test file, copied from the migrated template (DESIGN.md §8). */
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, inject } from 'vitest'
import { Database, type DatabaseOptions } from '../../shared/db/database.ts'
import { APP_ROLE, withDatabase } from '../../shared/db/embedded.ts'

export interface TestDatabase {
  readonly name: string
  /** Superuser: owns the schema, runs migrations, and bypasses RLS (for assertions). */
  readonly ownerUrl: string
  /** zenoauth_app: the runtime's role, subject to RLS. */
  readonly appUrl: string
  /** Runs one query as the superuser. */
  sql<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<R[]>
}

/**
 * Creates a database for this test file (migrated unless `empty`) and drops it after the file.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const superuserUrl = inject('superuserUrl')
  const name = `zt_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: superuserUrl })
  await admin.connect()
  await admin.query(
    `CREATE DATABASE ${name}${options.empty ? '' : ` TEMPLATE ${inject('templateDatabase')}`}`,
  )
  await admin.end()
  const ownerUrl = withDatabase(superuserUrl, name)
  const owner = new pg.Pool({ connectionString: ownerUrl, max: 2 })
  afterAll(async () => {
    await owner.end()
    const client = new pg.Client({ connectionString: superuserUrl })
    await client.connect()
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await client.end()
  })
  return {
    name,
    ownerUrl,
    appUrl: withDatabase(superuserUrl, name, { name: APP_ROLE, password: inject('appPassword') }),
    sql: async (text, values) => (await owner.query(text, values)).rows,
  }
}

/** The runtime's Database on `url` (the test's appUrl, say), as the server configures it. */
export function runtimeDatabase(url: string, options: Partial<DatabaseOptions> = {}): Database {
  return new Database({
    url,
    poolMax: 2,
    statementTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    runtimeRole: 'zenoauth_runtime',
    applicationName: 'zenoauth-test',
    ...options,
  })
}
