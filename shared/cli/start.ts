/**
 * `zenoauth start` (what `npm start` runs): the zero-setup path. With no DATABASE_URL it
 * starts an embedded PostgreSQL under .data/, migrates, creates the default organization on
 * the first run (printing its admin credentials once) and serves every plane.
 */
import path from 'node:path'
import { bootstrapOrganization } from '../bootstrap.ts'
import { loadConfig } from '../config.ts'
import { Database } from '../db/database.ts'
import {
  ClusterInUseError,
  type EmbeddedPostgres,
  ensureDatabase,
  startEmbeddedPostgres,
} from '../db/embedded.ts'
import { listOrganizations } from '../db/organizations.ts'
import { parseCliArgs } from './args.ts'
import { describeBootstrap } from './bootstrap.ts'
import { CliError } from './cli-error.ts'
import { START_DATABASE } from './local-database.ts'
import { runMigrations } from './migrate.ts'
import { serveUntilSignalled } from './serve.ts'

export async function startCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCliArgs(args, {
    'data-dir': { type: 'string', default: '.data' },
    'admin-email': { type: 'string', default: 'admin@example.com' },
  })
  const runEnv: NodeJS.ProcessEnv = { NODE_ENV: 'development', ...env }
  let embedded: EmbeddedPostgres | undefined
  if (!env.DATABASE_URL) {
    const dataDir = path.resolve(values['data-dir'])
    console.error(`zenoauth: starting the embedded PostgreSQL in ${dataDir}`)
    try {
      embedded = await startEmbeddedPostgres({ dataDir })
    } catch (err) {
      if (err instanceof ClusterInUseError) throw new CliError(`start: ${err.message}`)
      throw err
    }
    await ensureDatabase(embedded.ownerUrl('postgres'), START_DATABASE)
    runEnv.DATABASE_URL = embedded.appUrl(START_DATABASE)
    runEnv.DATABASE_MIGRATION_URL = embedded.ownerUrl(START_DATABASE)
    runEnv.MASTER_KEY ??= embedded.secrets.masterKey
  }
  const stopEmbedded = async () => {
    await embedded?.stop()
  }
  try {
    const config = loadConfig(runEnv)
    await runMigrations(config)
    const db = new Database({ ...config.database, applicationName: 'zenoauth-start' })
    try {
      const organizations = await db.withoutOrganization((q) => listOrganizations(q))
      if (!organizations.some((o) => o.isDefault)) {
        const result = await bootstrapOrganization(db, config.publicUrl, {
          slug: 'default',
          name: 'Default',
          adminEmail: values['admin-email'],
        })
        console.log(`\n${describeBootstrap(result)}\n`)
      }
    } finally {
      await db.close()
    }
    return await serveUntilSignalled({ ...config, migrateOnStart: false }, stopEmbedded)
  } catch (err) {
    await stopEmbedded()
    throw err
  }
}
