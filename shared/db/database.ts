/**
 * The runtime's PostgreSQL access: one pool per process and transactions that carry the
 * tenant for row-level security. Every transaction drops to the runtime role and sets
 * `app.org_id` with SET LOCAL semantics, so nothing leaks across PgBouncer's transaction
 * pooling and even a superuser connection string cannot read across tenants.
 */
import { createHash } from 'node:crypto'
import pg from 'pg'
import { type Change, takeAnnouncedChanges } from '../cache/invalidation.ts'
import { serviceUnavailable } from '../http/errors.ts'

/** What the aggregate modules (shared/db/<aggregate>.ts) need: one query at a time. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>
}

export interface DatabaseOptions {
  url: string
  poolMax: number
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
   * database crash, such as rate limits; never for data a response promises exists.
   */
  readonly durable?: boolean
}

export interface PoolStats {
  total: number
  idle: number
  waiting: number
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

// SQLSTATE classes that mean "the database cannot answer now": connection exceptions (08),
// insufficient resources (53), operator intervention (57: admin shutdown, statement timeout).
const UNAVAILABLE = /^(08|53|57)/

export class Database {
  readonly pool: pg.Pool
  private readonly runtimeRole: string
  private readonly statementTimeoutMs: number
  private warming: Promise<void> | undefined
  /** Receives the changes a transaction announced (notifyChange), right after it commits. */
  onCommit: ((changes: readonly Change[]) => void) | undefined

  constructor(options: DatabaseOptions) {
    if (!/^[a-z_][a-z0-9_]*$/.test(options.runtimeRole))
      throw new TypeError('runtimeRole must be a plain role name')
    this.runtimeRole = options.runtimeRole
    this.statementTimeoutMs = options.statementTimeoutMs
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolMax,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: 30_000,
      application_name: options.applicationName,
    })
    // An idle client that loses its server emits here; without a listener the process dies.
    this.pool.on('error', (err) => options.onError?.(err))
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
    await this.warming
    try {
      const { rows } = await this.pool.query<{ name: string }>(
        'SELECT name FROM zenoauth_migrations WHERE name = ANY($1::text[])',
        [names],
      )
      const applied = new Set(rows.map((r) => r.name))
      return names.filter((n) => !applied.has(n))
    } catch (err) {
      // undefined_table, insufficient_privilege: nothing of this release's schema can be assumed.
      const code = (err as { code?: string }).code
      if (code === '42P01' || code === '42501') return [...names]
      throw unavailable(err)
    }
  }

  /**
   * Opens one connection in the background, so the first request after a cold start does not
   * wait for TCP, TLS and SCRAM. A failure here is only reported; requests fail closed as usual.
   */
  warm(onError: (err: unknown) => void): void {
    this.warming = this.pool.connect().then(
      (client) => client.release(),
      (err: unknown) => onError(err),
    )
  }

  stats(): PoolStats {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }

  private async transaction<T>(
    organizationId: string | undefined,
    fn: (q: Queryable) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    try {
      return await this.attempt(organizationId, fn, options)
    } catch (err) {
      // A migration changed a table under a statement this connection had prepared: the
      // connection was dropped with its statements, and a fresh one prepares them anew.
      if (!isStalePlan(err)) throw err
      return this.attempt(organizationId, fn, options)
    }
  }

  private async attempt<T>(
    organizationId: string | undefined,
    fn: (q: Queryable) => Promise<T>,
    options: TransactionOptions,
  ): Promise<T> {
    const client = await this.pool.connect().catch((err: unknown) => {
      throw unavailable(err)
    })
    // One round trip opens the transaction and sets its role, tenant and timeout. The values
    // are validated above (UUID, role name, integer), so inlining them is safe.
    const begin =
      `BEGIN; SELECT set_config('role', '${this.runtimeRole}', true), ` +
      `set_config('app.org_id', '${organizationId ?? ''}', true), ` +
      `set_config('statement_timeout', '${this.statementTimeoutMs}', true)` +
      (options.durable === false ? `, set_config('synchronous_commit', 'off', true)` : '')
    let broken = false
    const q: Queryable = {
      query: (text, values) => {
        const name = statementName(text)
        return name === undefined ? client.query(text, values) : client.query({ name, text, values })
      },
    }
    try {
      await client.query(begin)
      const result = await fn(q)
      await client.query('COMMIT')
      const changes = takeAnnouncedChanges(q)
      if (changes.length) this.onCommit?.(changes)
      return result
    } catch (err) {
      takeAnnouncedChanges(q)
      await client.query('ROLLBACK').catch(() => {
        broken = true
      })
      if (isStalePlan(err)) broken = true
      throw isUnavailable(err) ? unavailable(err) : err
    } finally {
      client.release(broken)
    }
  }
}

/**
 * Statements run as named (server-side prepared) statements: PostgreSQL parses and plans a
 * text once per connection instead of on every execution, which on the hot paths costs more
 * than executing them (row-level security makes planning dearer). The SQL texts are constants
 * of the aggregate modules, a bounded set; past MAX_NAMED, new texts run unnamed. Behind
 * PgBouncer in transaction mode this needs PgBouncer 1.21+ with `max_prepared_statements`
 * set, which tracks and re-prepares them per server connection (the Poolers do).
 */
const MAX_NAMED = 1000
const statementNames = new Map<string, string>()

function statementName(text: string): string | undefined {
  let name = statementNames.get(text)
  if (name === undefined && statementNames.size < MAX_NAMED) {
    name = `z${createHash('sha256').update(text).digest('base64url').slice(0, 24)}`
    statementNames.set(text, name)
  }
  return name
}

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
    err instanceof Error && /Connection terminated|timeout exceeded when trying to connect/i.test(err.message)
  )
}

function unavailable(cause: unknown) {
  const err = serviceUnavailable('The database is unavailable.')
  ;(err as { cause?: unknown }).cause = cause
  return err
}
