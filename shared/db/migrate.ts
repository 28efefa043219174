/**
 * Migrations: plain SQL files embedded in the artifact, applied in order under an advisory
 * lock and recorded with a checksum (DESIGN.md §4). An applied migration whose text changed
 * is an error, never a silent re-run.
 */
import { createHash } from 'node:crypto'
import type pg from 'pg'
import { MIGRATIONS } from './migrations.gen.ts'

export interface Migration {
  readonly name: string
  readonly sql: string
}

export interface MigrationReport {
  /** Migrations this call applied, in order. */
  readonly applied: readonly string[]
  /** Migrations recorded in the database that this artifact does not know (a newer release ran). */
  readonly unknown: readonly string[]
}

/** An applied migration's text no longer matches its recorded checksum. */
export class MigrationChangedError extends Error {
  readonly code = 'ERR_MIGRATION_CHANGED'
  constructor(name: string, recorded: string, actual: string) {
    super(
      `migration ${name} was changed after it was applied (recorded checksum ${recorded.slice(0, 12)}, ` +
        `file checksum ${actual.slice(0, 12)}); restore the original file and put the change in a new migration`,
    )
    this.name = 'MigrationChangedError'
  }
}

// One constant key: every process that migrates one database queues on it.
const MIGRATION_LOCK_KEY = 0x7a656e6f

const CREATE_MIGRATIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS zenoauth_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`

export function checksumOf(sql: string): string {
  return createHash('sha256').update(sql).digest('hex')
}

/**
 * What `migrations` leave to apply against the record (name → checksum), and which recorded
 * ones this artifact does not know.
 * @throws MigrationChangedError when an applied migration's text changed.
 */
export function planMigrations(
  recorded: ReadonlyMap<string, string>,
  migrations: readonly Migration[] = MIGRATIONS,
): { pending: readonly Migration[]; unknown: readonly string[] } {
  for (const m of migrations) {
    const was = recorded.get(m.name)
    if (was !== undefined && was !== checksumOf(m.sql))
      throw new MigrationChangedError(m.name, was, checksumOf(m.sql))
  }
  const known = new Set(migrations.map((m) => m.name))
  return {
    pending: migrations.filter((m) => !recorded.has(m.name)),
    unknown: [...recorded.keys()].filter((n) => !known.has(n)),
  }
}

/**
 * Applies the pending migrations in one transaction under `pg_advisory_xact_lock`, so
 * concurrent starts queue and only the first applies anything. A transaction-scoped lock
 * also works through PgBouncer in transaction mode.
 * @throws MigrationChangedError when an applied migration's text changed; nothing is applied.
 */
export async function migrate(
  client: pg.ClientBase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationReport> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    await client.query(CREATE_MIGRATIONS_TABLE)
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'SELECT name, checksum FROM zenoauth_migrations ORDER BY name',
    )
    const { pending, unknown } = planMigrations(new Map(rows.map((r) => [r.name, r.checksum])), migrations)
    const applied: string[] = []
    for (const m of pending) {
      await client.query(m.sql)
      await client.query('INSERT INTO zenoauth_migrations (name, checksum) VALUES ($1, $2)', [
        m.name,
        checksumOf(m.sql),
      ])
      applied.push(m.name)
    }
    await client.query('COMMIT')
    return { applied, unknown }
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  }
}
