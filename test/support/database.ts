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

export interface RowLock {
  /** Runs a statement inside the transaction that holds the lock. */
  sql(text: string, values?: unknown[]): Promise<unknown[]>
  /** Resolves once `count` other sessions wait on a lock in this database (bounded: ~5 s). */
  waiters(count: number): Promise<void>
  /** Commits the holding transaction, releasing the lock. */
  release(): Promise<void>
}

/**
 * Locks one row (where `column` is `id`) as the superuser (`SELECT … FOR UPDATE`) in a transaction the test holds open,
 * so that requests can be made to run into it in a known order.
 */
export async function holdRowLock(
  db: TestDatabase,
  table: string,
  id: unknown,
  column = 'id',
): Promise<RowLock> {
  const client = new pg.Client({ connectionString: db.ownerUrl })
  await client.connect()
  await client.query('BEGIN')
  const { rowCount } = await client.query(`SELECT 1 FROM ${table} WHERE ${column} = $1 FOR UPDATE`, [id])
  if (rowCount !== 1) throw new Error(`no row ${String(id)} in ${table}`)
  return {
    sql: async (text, values) => (await client.query(text, values)).rows,
    async waiters(count) {
      for (let i = 0; i < 500; i++) {
        const [row] = await db.sql<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
        if (row!.n >= count) return
        await new Promise((r) => setTimeout(r, 10))
      }
      throw new Error(`fewer than ${count} sessions came to wait on the lock`)
    },
    async release() {
      await client.query('COMMIT')
      await client.end()
    },
  }
}
