/**
 * Where ZenoAuth reaches into node-postgres's internals, and the only place (docs/data.md,
 * "The wire"): a statement that carries its transaction's BEGIN and tenant scope in the same
 * write, prepared by name, with Date parameters sent as ISO 8601. It extends pg's Query
 * (lib/query.js) and writes protocol messages through pg's Connection, neither of which is
 * public API: `pg` is pinned to an exact version in package.json, and
 * test/shared/db/wire.test.ts fails when an upgrade changes what this relies on.
 */
import { createHash } from 'node:crypto'
import pg from 'pg'

/** The pg version this file was written against (package.json pins it; the contract test checks both). */
export const PG_VERSION = '8.23.1'

/**
 * What scopes a transaction: the runtime role (row-level security applies even to an owner or
 * superuser login), the organization, the statement timeout, for non-durable transactions
 * synchronous_commit off, and for statements that reach rows by key only enable_seqscan off
 * (TransactionOptions); all transaction-local, so nothing outlives it behind PgBouncer.
 * Otherwise each setting stays what the server says (a cluster with synchronous replicas keeps
 * its guarantee).
 */
export const SCOPE = {
  name: 'zenoauth_scope',
  text:
    "SELECT set_config('role', $1, true), set_config('app.org_id', $2, true), " +
    "set_config('statement_timeout', $3, true), " +
    "set_config('synchronous_commit', coalesce($4, current_setting('synchronous_commit')), true), " +
    "set_config('enable_seqscan', coalesce($5, current_setting('enable_seqscan')), true)",
}

/**
 * BEGIN as a named statement, so a transaction's opening write carries no Parse of its own:
 * pg credits any ParseComplete to the statement it is running, and would take a first
 * statement that PostgreSQL refused to parse as prepared.
 */
export const BEGIN = 'zenoauth_begin'

/** The protocol messages of pg's Connection that a scoped Statement writes itself. */
interface Connection {
  bind(msg: { statement?: string; values?: unknown[] }): void
  execute(msg: { portal?: string }): void
}

/** The parts of pg's Query (lib/query.js) that Statement sets or extends. */
interface QueryInternals {
  name: string | undefined
  queryMode: string | undefined
  callback: ((err: Error | null, result?: pg.QueryResult) => void) | undefined
  prepare(connection: Connection): void
  handleDataRow(msg: unknown): void
  handleCommandComplete(msg: unknown, connection: Connection): void
}

const BaseQuery = pg.Query as unknown as new (text: string, values?: unknown[]) => pg.Query & QueryInternals

/**
 * One statement as pg's Query runs it (parse once per connection by name, bind, describe,
 * execute, sync; rows; errors), built from its text and values rather than a config object,
 * which pg would copy property by property on every query.
 *
 * With `scope`, it is sent behind the statements that open its transaction (BEGIN, when
 * `begin`) and scope it (SCOPE), in the same write: PostgreSQL runs them in order, and their
 * results are dropped here so the caller sees only its own. Without BEGIN the statements
 * share the implicit transaction the extended protocol opens and commits at Sync. A
 * PostgreSQL error in any of them fails this query and ends in one ReadyForQuery, as for any
 * other.
 */
class Statement extends BaseQuery {
  private pending: number
  private readonly begin: boolean
  private readonly scope: unknown[] | undefined

  constructor(
    text: string,
    values: unknown[] | undefined,
    name: string | undefined,
    scope: unknown[] | undefined,
    begin: boolean,
  ) {
    super(text, values?.map(isoDate))
    this.name = name
    // Extended protocol even without values or a name: the simple one would skip prepare().
    if (scope !== undefined) this.queryMode = 'extended'
    this.scope = scope
    this.begin = begin
    this.pending = scope === undefined ? 0 : begin ? 2 : 1
  }

  override prepare(connection: Connection): void {
    if (this.scope !== undefined) {
      if (this.begin) {
        connection.bind({ statement: BEGIN })
        connection.execute({})
      }
      connection.bind({ statement: SCOPE.name, values: this.scope })
      connection.execute({})
    }
    super.prepare(connection)
  }

  override handleDataRow(msg: unknown): void {
    // SCOPE's row: bound without Describe, so it comes without a RowDescription.
    if (this.pending === 0) super.handleDataRow(msg)
  }

  override handleCommandComplete(msg: unknown, connection: Connection): void {
    if (this.pending > 0) this.pending--
    else super.handleCommandComplete(msg, connection)
  }
}

/**
 * A Date parameter as ISO 8601 in UTC: the same instant pg would send (every column is
 * timestamptz), without pg's local-time formatting, which costs more than the statement's
 * other parameters together.
 */
const isoDate = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value)

/**
 * Runs one statement on `client`, by name (see statementName); with `scope`, behind the
 * statements that scope it (and open the transaction unless `begin` is false).
 */
export function run<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  text: string,
  values: unknown[] | undefined,
  scope: unknown[] | undefined,
  begin = true,
): Promise<pg.QueryResult<R>> {
  const query = new Statement(text, values, statementName(text), scope, begin)
  return new Promise((resolve, reject) => {
    query.callback = (err, result) => (err ? reject(err) : resolve(result as pg.QueryResult<R>))
    client.query(query)
  })
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
