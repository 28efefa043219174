/** `zenoauth migrate`: apply pending migrations and exit. */
import pg from 'pg'
import { type Config, loadConfig } from '../config.ts'
import { type MigrationReport, migrate } from '../db/migrate.ts'
import { CliError } from './cli-error.ts'

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
  try {
    await client.connect()
  } catch (err) {
    throw new CliError(`cannot connect to the database to migrate: ${(err as Error).message}`)
  }
  try {
    return await migrate(client)
  } catch (err) {
    const e = err as Error & { code?: string }
    if (e.code === 'ERR_MIGRATION_CHANGED') throw new CliError(e.message)
    if (e.code === '42501') {
      throw new CliError(
        `migration failed: ${e.message}; set DATABASE_MIGRATION_URL to a role that owns the schema`,
      )
    }
    throw new CliError(`migration failed: ${e.message}`)
  } finally {
    await client.end().catch(() => undefined)
  }
}

export async function migrateCommand(_args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const config = loadConfig(env, { databaseOnly: true })
  const report = await runMigrations(config)
  console.log(report.applied.length ? `applied: ${report.applied.join(', ')}` : 'database is up to date')
  if (report.unknown.length) {
    console.log(
      `note: the database also has migrations this release does not know: ${report.unknown.join(', ')}`,
    )
  }
  return 0
}
