/**
 * `zenoauth start` (what `npm start` runs): the zero-setup path. With no DATABASE_URL it
 * starts an embedded PostgreSQL under .data/, migrates, creates the default organization on
 * the first run (printing its admin credentials once) and serves every plane.
 */
import path from 'node:path'
import { OrganizationName, renameOrganizationAudited } from '../admin/organization.ts'
import { bootstrapOrganization } from '../bootstrap.ts'
import { loadConfig } from '../config.ts'
import { Database } from '../db/database.ts'
import { ClusterInUseError, type EmbeddedPostgres } from '../db/embedded.ts'
import { listOrganizations } from '../db/organizations.ts'
import { parseCliArgs } from './args.ts'
import { describeBootstrap } from './bootstrap.ts'
import { CliError } from './cli-error.ts'
import { DATA_DIR_OPTION, startDatabaseEnv, startOwnCluster } from './local-database.ts'
import { runMigrations } from './migrate.ts'
import { serveUntilSignalled } from './serve.ts'

export async function startCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCliArgs(args, {
    ...DATA_DIR_OPTION,
    'admin-email': { type: 'string', default: 'admin@example.com' },
    name: { type: 'string' },
  })
  const name = values.name === undefined ? undefined : OrganizationName.safeParse(values.name)
  if (name && !name.success)
    throw new CliError(`start: --name ${name.error.issues[0]?.message ?? 'is not a valid name'}`, 2)
  let runEnv: NodeJS.ProcessEnv = { NODE_ENV: 'development', ...env }
  let embedded: EmbeddedPostgres | undefined
  if (!env.DATABASE_URL) {
    const dataDir = path.resolve(values['data-dir'])
    console.error(`zenoauth: starting the embedded PostgreSQL in ${dataDir}`)
    try {
      embedded = await startOwnCluster(dataDir)
    } catch (err) {
      if (err instanceof ClusterInUseError) throw new CliError(`start: ${err.message}`)
      throw err
    }
    runEnv = startDatabaseEnv(runEnv, embedded)
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
      const existing = organizations.find((o) => o.isDefault)
      if (!existing) {
        const result = await bootstrapOrganization(db, config.publicUrl, {
          slug: 'default',
          name: name?.data ?? 'Default',
          adminEmail: values['admin-email'],
        })
        console.log(`\n${describeBootstrap(result)}\n`)
      } else if (name?.data !== undefined) {
        await renameDefault(db, existing.id, name.data)
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

/** `--name` on a later start: the default organization takes the new name, audited. */
async function renameDefault(db: Database, id: string, to: string): Promise<void> {
  const from = await db.inOrganization(id, (q) =>
    renameOrganizationAudited(q, id, to, { actorType: 'system', actorId: 'zenoauth start --name' }),
  )
  if (from !== to) console.error(`zenoauth: the default organization is now named '${to}' (was '${from}')`)
}
