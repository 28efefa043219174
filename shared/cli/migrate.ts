/** `zenoauth migrate`: apply pending migrations and exit. */
import pg from 'pg'
import { type Config, loadConfig } from '../config.ts'
import { type MigrationReport, migrate, planMigrations } from '../db/migrate.ts'
import { parseCliArgs } from './args.ts'
import { CliError } from './cli-error.ts'
import { DATA_DIR_OPTION, withLocalDatabase } from './local-database.ts'

/**
 * Connects with DATABASE_MIGRATION_URL (the schema owner) and applies what is pending.
 * @throws CliError when the database is unreachable or an applied migration changed.
 */
export async function runMigrations(config: Config): Promise<MigrationReport> {
  const client = new pg.Client({
    connectionString: config.database.migrationUrl,
    connectionTimeoutMillis: config.database.connectTimeoutMs,
    application_name: 'zenoauth-migrate',
  })
  // A connection lost mid-migration fails the statement under way (the migration's
  // transaction rolls back); the client's own 'error' event must not end the process first.
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    throw new CliError(`cannot connect to the database to migrate: ${(err as Error).message}`)
  }
  try {
    return await migrate(client)
  } catch (err) {
    throw migrationFailure(err)
  } finally {
    await client.end().catch(() => undefined)
  }
}

/**
 * `runMigrations` unless `recorded` (the applied migrations' record, read over a connection
 * the caller has anyway) shows nothing pending: then the schema owner's connection, with its
 * own TCP connect and SCRAM exchange, is never opened. An applied migration whose text
 * changed fails either way.
 * @throws CliError as runMigrations does.
 */
export async function migrateIfBehind(
  config: Config,
  recorded: ReadonlyMap<string, string> | undefined,
): Promise<MigrationReport> {
  if (recorded) {
    let plan: ReturnType<typeof planMigrations>
    try {
      plan = planMigrations(recorded)
    } catch (err) {
      throw migrationFailure(err)
    }
    if (plan.pending.length === 0) return { applied: [], unknown: plan.unknown }
  }
  return runMigrations(config)
}

function migrationFailure(err: unknown): CliError {
  const e = err as Error & { code?: string }
  if (e.code === 'ERR_MIGRATION_CHANGED') return new CliError(e.message)
  if (e.code === '42501') {
    return new CliError(
      `migration failed: ${e.message}; set DATABASE_MIGRATION_URL to a role that owns the schema`,
    )
  }
  return new CliError(`migration failed: ${e.message}`)
}

export async function migrateCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCliArgs(args, DATA_DIR_OPTION)
  return withLocalDatabase(env, values['data-dir'], (dbEnv) =>
    migrateAndReport(loadConfig(dbEnv, { databaseOnly: true })),
  )
}

async function migrateAndReport(config: Config): Promise<number> {
  const report = await runMigrations(config)
  console.log(report.applied.length ? `applied: ${report.applied.join(', ')}` : 'database is up to date')
  if (report.unknown.length) {
    console.log(
      `note: the database also has migrations this release does not know: ${report.unknown.join(', ')}`,
    )
  }
  return 0
}
