/**
 * The database of `npm start` for the commands that need one (`invoke`, `bootstrap`,
 * `migrate`) when DATABASE_URL is unset: the embedded cluster under the data directory
 * (`.data/`), used where it runs, or started for the command and stopped after it.
 */
import path from 'node:path'
import {
  attachEmbeddedPostgres,
  ClusterInUseError,
  type EmbeddedPostgres,
  ensureDatabase,
  hasCluster,
  runningCluster,
  startEmbeddedPostgres,
} from '../db/embedded.ts'
import { CliError } from './cli-error.ts'

/** The database `start` creates in its cluster. */
const START_DATABASE = 'zenoauth'

/** The `--data-dir` option of the commands that can use `npm start`'s database. */
export const DATA_DIR_OPTION = { 'data-dir': { type: 'string', default: '.data' } } as const

/**
 * Runs `command` with `env`, or, when DATABASE_URL is unset (and NODE_ENV is not production), with the environment of the
 * `npm start` database in `dataDir` (its URLs, its MASTER_KEY, NODE_ENV=development); says on
 * stderr which database it used.
 * @throws CliError (exit 2) when DATABASE_URL is unset and `dataDir` holds no cluster.
 */
export async function withLocalDatabase<T>(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  command: (env: NodeJS.ProcessEnv) => Promise<T>,
): Promise<T> {
  // NODE_ENV=production says "a deployment": there, a missing DATABASE_URL is a configuration
  // error (loadConfig names it), never a reason to look for a developer's database.
  if (env.DATABASE_URL || env.NODE_ENV === 'production') return command(env)
  const dir = path.resolve(dataDir)
  if (!hasCluster(dir)) {
    throw new CliError(
      `DATABASE_URL is not set and there is no npm start database in ${dir}: set DATABASE_URL, run npm start once, or pass --data-dir`,
      2,
    )
  }
  const embedded = await openCluster(dir)
  try {
    return await command(startDatabaseEnv(env, embedded))
  } finally {
    await embedded.stop()
  }
}

/**
 * Starts the cluster under `dataDir` with `start`'s database in it.
 * @throws ClusterInUseError when another process serves that cluster.
 */
export async function startOwnCluster(dataDir: string): Promise<EmbeddedPostgres> {
  const embedded = await startEmbeddedPostgres({ dataDir })
  try {
    await ensureDatabase(embedded.ownerUrl('postgres'), START_DATABASE)
  } catch (err) {
    await embedded.stop()
    throw err
  }
  return embedded
}

/** `env` pointed at `start`'s database in `embedded`, with its MASTER_KEY unless one is set. */
export function startDatabaseEnv(env: NodeJS.ProcessEnv, embedded: EmbeddedPostgres): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'development',
    ...env,
    DATABASE_URL: embedded.appUrl(START_DATABASE),
    DATABASE_MIGRATION_URL: embedded.ownerUrl(START_DATABASE),
    MASTER_KEY: env.MASTER_KEY || embedded.secrets.masterKey,
  }
}

async function openCluster(dir: string): Promise<EmbeddedPostgres> {
  const running = runningCluster(dir)
  if (running) {
    console.error(
      `zenoauth: DATABASE_URL is not set: using the npm start database in ${dir} (PostgreSQL pid ${running.pid}, port ${running.port})`,
    )
    return attachEmbeddedPostgres(dir, running)
  }
  console.error(
    `zenoauth: DATABASE_URL is not set: starting the npm start database in ${dir} for this command`,
  )
  try {
    return await startOwnCluster(dir)
  } catch (err) {
    // An npm start that began a moment ago: use its cluster after all.
    if (err instanceof ClusterInUseError) return attachEmbeddedPostgres(dir, err.running)
    throw err
  }
}
