/** `zenoauth bootstrap --org <slug> --admin-email <email> [--json]`. */
import { BootstrapError, type BootstrapResult, bootstrapOrganization } from '../bootstrap.ts'
import { type Config, loadConfig } from '../config.ts'
import { Database } from '../db/database.ts'
import { parseCliArgs } from './args.ts'
import { CliError } from './cli-error.ts'
import { DATA_DIR_OPTION, withLocalDatabase } from './local-database.ts'
import { runMigrations } from './migrate.ts'

export async function bootstrapCommand(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values } = parseCliArgs(args, {
    org: { type: 'string' },
    'admin-email': { type: 'string' },
    name: { type: 'string' },
    domain: { type: 'string' },
    json: { type: 'boolean', default: false },
    ...DATA_DIR_OPTION,
  })
  const { org, 'admin-email': adminEmail } = values
  if (!org) throw new CliError('bootstrap: --org <slug> is required', 2)
  if (!adminEmail) throw new CliError('bootstrap: --admin-email <email> is required', 2)
  return withLocalDatabase(env, values['data-dir'], (dbEnv) =>
    bootstrap(loadConfig(dbEnv), { ...values, org, adminEmail }),
  )
}

async function bootstrap(
  config: Config,
  values: {
    org: string
    adminEmail: string
    name?: string | undefined
    domain?: string | undefined
    json: boolean
  },
): Promise<number> {
  if (config.migrateOnStart) await runMigrations(config)
  const db = new Database({
    ...config.database,
    url: config.database.url,
    applicationName: 'zenoauth-bootstrap',
  })
  try {
    const result = await bootstrapOrganization(db, config.publicUrl, {
      slug: values.org,
      adminEmail: values.adminEmail,
      ...(values.name ? { name: values.name } : {}),
      ...(values.domain ? { domain: values.domain } : {}),
    })
    console.log(values.json ? JSON.stringify(result, null, 2) : describeBootstrap(result))
    return 0
  } catch (err) {
    if (err instanceof BootstrapError) throw new CliError(`bootstrap: ${err.message}`)
    throw err
  } finally {
    await db.close()
  }
}

/** The secrets of a bootstrap, for a person to copy once. */
export function describeBootstrap(r: BootstrapResult): string {
  return [
    `Organization '${r.organization.slug}' created${r.organization.is_default ? ' (the default organization)' : ''}.`,
    `  issuer         ${r.organization.issuer}`,
    `  admin email    ${r.admin_user.email}`,
    `  admin password ${r.admin_user.password}`,
    `  client_id      ${r.admin_client.client_id}`,
    `  client_secret  ${r.admin_client.client_secret}`,
    `  scope          ${r.admin_client.scope}`,
    'These secrets are shown once and stored only as hashes: keep them now.',
  ].join('\n')
}
