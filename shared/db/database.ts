/**
 * The runtime's PostgreSQL access: one pool per process and transactions that carry the
 * tenant for row-level security. Every transaction drops to the runtime role and sets
 * `app.org_id` with SET LOCAL semantics, so nothing leaks across PgBouncer's transaction
 * pooling and even a superuser connection string cannot read across tenants.
 */
import pg from 'pg'
import type { Config } from '../config.ts'
import type { Logger } from '../log.ts'
import { type BatchedStatement, Batcher, type BatchOptions, type StatementRunner } from './batch.ts'
import { Unavailable } from './unavailable.ts'
import { BEGIN, run, SCOPE } from './wire.ts'

export { SCOPE }

/** What the aggregate modules (shared/db/<aggregate>.ts) need: one query at a time. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
  /**
   * Inside a transaction: keeps a change to announce to this process's caches right after it
   * commits (cache/invalidation.ts notifyChange; forgotten on rollback). Absent elsewhere.
   */
  announce?(change: Change): void
}

export type ChangeKind = 'organization' | 'application' | 'keys' | 'revocation'

/** A change to what the caches hold (cache/invalidation.ts). */
export interface Change {
  readonly kind: ChangeKind
  readonly organizationId: string
  /** What changed within the organization (a client_id, a jti), when not all of it. */
  readonly id: string | undefined
}

export interface DatabaseOptions {
  url: string
  poolMax: number
  /** Batches of one batched statement in flight at once (BATCH.inFlight unless given). */
  batchesInFlight?: number
  statementTimeoutMs: number
  connectTimeoutMs: number
  runtimeRole: string
  applicationName: string
  onError?: (err: Error) => void
}

export interface TransactionOptions {
  /**
   * false: COMMIT returns without waiting for the WAL to reach disk (synchronous_commit off
   * for this transaction only). For counters whose last milliseconds may be lost in a
   * database crash, such as rate limits, and for short-lived credentials whose loss only fails
   * the flow that was to use them, which the client restarts (an authorization code); never
   * for data a response promises will last (tokens, accounts, settings).
   */
  readonly durable?: boolean
  /**
   * true: the planner may not read a table whole (enable_seqscan off for this transaction).
   * For statements written to reach every row by key, which run as prepared statements: the
   * generic plan a connection caches is made once, for the table as it is then. Made while a
   * table was a few pages (a new deployment, before its first ANALYZE), it kept a sequential
   * scan as the table grew: on the bench the code exchange then read every code ever issued,
   * and the code flow fell from ~1,700 to ~700 flows/s in two minutes, until autovacuum's first
   * ANALYZE of the table made the connections plan again (test/shared/db/plans.test.ts).
   */
  readonly byKey?: boolean
}

/**
 * The tenant's database: every transaction is scoped to one organization. As a Queryable
 * itself, each `query` is one statement in its own transaction and one round trip
 * (Database.statement): for work that is a single statement. `batched` is for this layer's
 * verbs (consumeAuthorizationCode, rotateRefreshToken, issueCodeForSession), not their callers.
 */
export interface TenantDatabase extends Queryable {
  transaction<T>(fn: (q: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** `item`'s share of a statement run for many requests at once (Database.batched). */
  batched<I, O>(statement: BatchedStatement<I, O>, item: I): Promise<O>
}

/** How often a batched statement ran, for how many requests in all, and how many wait now. */
export interface BatchStats {
  readonly statement: string
  readonly batches: number
  readonly items: number
  readonly waiting: number
}

export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

/** What a process calls itself in pg_stat_activity: `zenoauth-` and its planes. */
export function applicationName(config: Pick<Config, 'planes'>): string {
  return `zenoauth-${config.planes.join('+')}`
}

/** The process's pool, as the configuration says; it connects when first used (or warm()). */
export function openDatabase(config: Config, log: Logger): Database {
  return new Database({
    url: config.database.url,
    poolMax: config.database.poolMax,
    batchesInFlight: config.database.batchesInFlight,
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    runtimeRole: config.database.runtimeRole,
    applicationName: applicationName(config),
    onError: (err) =>
      log.warn(
        { err: { message: err.message, code: (err as { code?: string }).code } },
        'database connection failed',
      ),
  })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// SQLSTATE classes that mean "the database cannot answer now": connection exceptions (08),
// insufficient resources (53), operator intervention (57: admin shutdown, statement timeout).
const UNAVAILABLE = /^(08|53|57)/

export class Database {
  readonly pool: pg.Pool
  private readonly runtimeRole: string
  private readonly poolMax: number
  private readonly statementTimeoutMs: number
  private readonly batch: BatchOptions
  private warming: Promise<void> | undefined
  // One Batcher per batched statement, made on its first use.
  private readonly batchers = new Map<BatchedStatement<never, unknown>, Batcher<never, unknown>>()
  /** Receives the changes a transaction announced (notifyChange), right after it commits. */
  onCommit: ((changes: readonly Change[]) => void) | undefined

  constructor(options: DatabaseOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.runtimeRole))
      throw new TypeError('runtimeRole must be a plain role name')
    this.runtimeRole = options.runtimeRole
    this.poolMax = options.poolMax
    this.statementTimeoutMs = options.statementTimeoutMs
    this.batch = { ...BATCH, inFlight: options.batchesInFlight ?? BATCH.inFlight }
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName,
    })
    // An idle client that loses its server makes the pool emit 'error': without a listener
    // the process dies. The client's own listener below has logged it already.
    this.pool.on('error', () => {})
    // A checked-out client emits on itself: pg emits 'error' on the client when its socket fails, even
    // while a query is active (which also rejects), and pg-pool takes its own listener off a
    // client for as long as it is checked out. One listener of ours for each client's life:
    // the query's rejection is what the caller handles, the pool drops the client on release
    // (it is no longer queryable), and the process lives on.
    this.pool.on('connect', (client) => {
      client.on('error', (err) => {
        lost.add(client)
        options.onError?.(err)
      })
    })
  }

  /**
   * Runs `fn` in a transaction scoped to one organization: RLS shows only that tenant's rows.
   * @throws HttpError 503 when the database is unreachable, out of connections or timed out;
   *   otherwise rethrows what `fn` or PostgreSQL threw, after rolling back.
   */
  inOrganization<T>(
    organizationId: string,
    fn: (q: Queryable) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    if (!UUID.test(organizationId)) throw new TypeError('organizationId must be a UUID')
    return this.transaction(organizationId, fn, options)
  }

  /**
   * Runs `fn` in a transaction with no organization: tenant tables show no rows. For the
   * SECURITY DEFINER directory functions (host resolution, the list of organizations).
   */
  withoutOrganization<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    return this.transaction(undefined, fn, {})
  }

  /**
   * Checks that a connection can be had and the server answers: one statement, outside any
   * transaction, touching no table.
   * @throws HttpError 503 when it cannot.
   */
  async ping(): Promise<void> {
    // Reuse the connection warm() is opening rather than authenticating a second one.
    await this.warming
    try {
      await this.pool.query('SELECT 1')
    } catch (err) {
      throw unavailable(err)
    }
  }

  /**
   * Which of `names` are not recorded as applied migrations: all of them while the schema or
   * the runtime's right to read the record (migration 0006) does not exist yet.
   * @throws HttpError 503 when the database cannot be reached.
   */
  async pendingMigrations(names: readonly string[]): Promise<string[]> {
    const recorded = await this.recordedMigrations()
    return recorded ? names.filter((n) => !recorded.has(n)) : [...names]
  }

  /**
   * The applied migrations' record (name → checksum), read with the runtime's connection;
   * undefined while the record, or the runtime's right to read it (migration 0006), does not
   * exist yet.
   * @throws HttpError 503 when the database cannot be reached.
   */
  async recordedMigrations(): Promise<Map<string, string> | undefined> {
    await this.warming
    try {
      const { rows } = await this.pool.query<{ name: string; checksum: string }>(
        'SELECT name, checksum FROM zenoauth_migrations',
      )
      return new Map(rows.map((r) => [r.name, r.checksum]))
    } catch (err) {
      // undefined_table, insufficient_privilege: nothing of this release's schema can be assumed.
      const code = (err as { code?: string }).code
      if (code === '42P01' || code === '42501') return undefined
      throw unavailable(err)
    }
  }

  /**
   * Opens one connection in the background, so the first request after a cold start does not
   * wait for TCP, TLS and SCRAM. A failure here is only reported; requests fail closed as usual.
   * @returns a promise that settles, never rejecting, once the connection is open or failed.
   */
  warm(onError: (err: unknown) => void): Promise<void> {
    this.warming = this.pool.connect().then(
      (client) => client.release(),
      (err: unknown) => onError(err),
    )
    return this.warming
  }

  stats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  batchStats(): BatchStats[] {
    return [...this.batchers.values()].map((b) => b.stats)
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  private transaction<T>(
    organizationId: string | undefined,
    fn: (q: Queryable) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    return this.againIfStale(() => this.attempt(organizationId, fn, options))
  }

  /**
   * Runs `work` once more when a migration changed a table under a statement its connection
   * had prepared: that connection was dropped with its statements, and a fresh one prepares
   * them anew.
   */
  private async againIfStale<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      if (!isStalePlan(err)) throw err
      return work()
    }
  }

  private async attempt<T>(
    organizationId: string | undefined,
    fn: (q: Queryable) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    const client = await this.checkOut()
    const scope = this.scopeValues(organizationId, options)
    let broken = false
    let opened = false
    let changes: Change[] | undefined
    const q: Queryable = {
      query: (text, values) => {
        // The first statement carries BEGIN and the scope with it: one round trip fewer.
        const first = !opened
        opened = true
        return run(client, text, values, first ? scope : undefined)
      },
      announce: (change) => {
        changes ??= []
        changes.push(change)
      },
    }
    try {
      const result = await fn(q)
      if (opened) await client.query('COMMIT')
      if (changes) this.onCommit?.(changes)
      return result
    } catch (err) {
      if (opened)
        await client.query('ROLLBACK').catch(() => {
          broken = true
        })
      if (isStalePlan(err)) broken = true
      throw isUnavailable(err) ? unavailable(err) : err
    } finally {
      client.release(broken)
    }
  }

  /**
   * One statement in its own transaction, scoped like `inOrganization`, in one round trip: the
   * scope and the statement are sent together and the protocol's Sync commits them. For work
   * that is a single statement, where BEGIN and COMMIT would cost two more. `options` as for
   * `inOrganization`.
   * @throws HttpError 503 as `inOrganization` does; otherwise what PostgreSQL threw, with
   *   nothing written.
   */
  async statement<R extends pg.QueryResultRow = pg.QueryResultRow>(
    organizationId: string,
    text: string,
    values?: unknown[],
    options: TransactionOptions = {},
  ): Promise<pg.QueryResult<R>> {
    if (!UUID.test(organizationId)) throw new TypeError('organizationId must be a UUID')
    return this.againIfStale(() => this.single<R>(organizationId, text, values, options))
  }

  /** A Queryable of `organizationId` whose every query is one `statement`. */
  statements(organizationId: string): Queryable {
    return { query: (text, values) => this.statement(organizationId, text, values) }
  }

  /**
   * `item`'s share of `statement`, run in a batch with other requests' items of the same
   * organization (shared/db/batch.ts): at most `batchesInFlight` batches of one statement hold a
   * connection at a time, and under load the requests waiting for one go together.
   * @throws what `statement` throws for the whole batch (statement's errors, 503).
   */
  batched<I, O>(organizationId: string, statement: BatchedStatement<I, O>, item: I): Promise<O> {
    if (!UUID.test(organizationId)) throw new TypeError('organizationId must be a UUID')
    let batcher = this.batchers.get(statement as BatchedStatement<never, unknown>) as
      | Batcher<I, O>
      | undefined
    if (!batcher) {
      const options = batchOptions(statement)
      batcher = new Batcher(
        statement,
        this.batch,
        (org): StatementRunner =>
          (text, values) =>
            this.statement(org, text, values, options),
      )
      this.batchers.set(statement as BatchedStatement<never, unknown>, batcher as Batcher<never, unknown>)
    }
    return batcher.submit(organizationId, item)
  }

  private async single<R extends pg.QueryResultRow>(
    organizationId: string,
    text: string,
    values: unknown[] | undefined,
    options: TransactionOptions,
  ): Promise<pg.QueryResult<R>> {
    const client = await this.checkOut()
    let broken = false
    try {
      return await run<R>(client, text, values, this.scopeValues(organizationId, options), false)
    } catch (err) {
      if (isStalePlan(err)) broken = true
      throw isUnavailable(err) ? unavailable(err) : err
    } finally {
      client.release(broken)
    }
  }

  /**
   * A pool connection on which the scope statement is prepared. One the pool still holds but
   * whose server went away while it sat idle (a restart, pg_terminate_backend) is dropped and
   * another taken: nothing was sent on it, so nothing is retried that could have run.
   */
  private async checkOut(): Promise<pg.PoolClient> {
    let client = await this.connectPooled()
    for (let tries = 0; lost.has(client) && tries < this.poolMax; tries++) {
      client.release(true)
      client = await this.connectPooled()
    }
    if (lost.has(client)) {
      client.release(true)
      throw unavailable(new Error('every pooled connection was lost'))
    }
    if (scoped.has(client)) return client
    try {
      // Prepared by name once per connection; every transaction then only binds them. Outside
      // a transaction block SCOPE's settings end with the statement; BEGIN is rolled back.
      await client.query({ name: SCOPE.name, text: SCOPE.text, values: this.scopeValues(undefined, {}) })
      await client.query({ name: BEGIN, text: 'BEGIN' })
      await client.query('ROLLBACK')
      scoped.add(client)
      return client
    } catch (err) {
      client.release(true)
      throw isUnavailable(err) ? unavailable(err) : err
    }
  }

  private connectPooled(): Promise<pg.PoolClient> {
    return this.pool.connect().catch((err: unknown) => {
      throw unavailable(err)
    })
  }

  private scopeValues(organizationId: string | undefined, options: TransactionOptions): unknown[] {
    return scopeValues(this.runtimeRole, organizationId, this.statementTimeoutMs, options)
  }
}

/** The transaction options a batched statement runs with: by key, and durable unless it says not. */
export function batchOptions(statement: BatchedStatement<never, unknown>): TransactionOptions {
  return { durable: statement.durable ?? true, byKey: true }
}

/** SCOPE's parameters: the role, organization, statement timeout and options of a transaction. */
export function scopeValues(
  role: string,
  organizationId: string | undefined,
  statementTimeoutMs: number,
  options: TransactionOptions,
): unknown[] {
  return [
    role,
    organizationId ?? '',
    String(statementTimeoutMs),
    options.durable === false ? 'off' : null,
    options.byKey ? 'off' : null,
  ]
}

/**
 * How batched statements run unless DATABASE_BATCHES_IN_FLIGHT says otherwise: one batch of
 * a statement in flight per process, and the requests that arrive meanwhile go in the next.
 * On the bench (refresh, 32 chains, four alternating rounds) one slot made batches of ~16 and
 * cost PostgreSQL 268-297 µs per refresh; two slots, batches of ~7 and 332-377 µs, for no
 * more refreshes per second; three, fewer still. Each process has its own slot, so replicas
 * add to the database's work in parallel. A returned batch's requests carry on 8 per turn of
 * the event loop: with all 16 of a refresh batch in one turn, the next batch's result and the
 * next requests waited behind them all, and the server and the database took turns. Four
 * alternating rounds: refresh 2,242-2,560 → 2,427-2,993 req/s, the EdDSA code flow (batches of
 * 6-9) 1,703-2,178 → 1,603-2,128 flows/s; 4 per turn gave refresh more (2,864-3,504) and the
 * code flow less (1,612-2,333 against 1,970-2,505), the server's CPU per flow rising with
 * the turns.
 */
const BATCH: BatchOptions = { inFlight: 1, maxItems: 64, perTurn: 8 }

/** Pool connections whose SCOPE and BEGIN statements are prepared. */
const scoped = new WeakSet<pg.PoolClient>()
// Connections whose socket failed (their 'error' event): never used again.
const lost = new WeakSet<pg.ClientBase>()

/** "cached plan must not change result type": a table changed under a prepared statement. */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; routine?: unknown }
  return e?.code === '0A000' && e.routine === 'RevalidateCachedQuery'
}

function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  if (typeof code === 'string' && UNAVAILABLE.test(code)) return true
  // Socket-level failures from pg carry Node's error codes, or only a message.
  if (
    typeof code === 'string' &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND'].includes(code)
  ) {
    return true
  }
  return (
    err instanceof Error &&
    /Connection terminated|timeout exceeded when trying to connect|not queryable/i.test(err.message)
  )
}

function unavailable(cause: unknown): Unavailable {
  return new Unavailable('The database is unavailable.', cause)
}
