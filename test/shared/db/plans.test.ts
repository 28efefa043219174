/**
 * The plans of the batched statements that every code flow and refresh runs: each finds its
 * rows by their key, one probe per item, whatever the statistics say. A plan that reads rows
 * by another index (every code of the last minute by expiry, every token a chain ever had by
 * family) costs little on an empty table and grows with the load, so these look at the plans
 * PostgreSQL would cache for the connections: the generic ones, made once and reused.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { codeConsumption } from '../../../shared/db/authorization.ts'
import type { BatchedStatement } from '../../../shared/db/batch.ts'
import { batchOptions, SCOPE, scopeValues, type TransactionOptions } from '../../../shared/db/database.ts'
import { refreshRotation } from '../../../shared/db/refresh-tokens.ts'
import { signedInCodes } from '../../../shared/db/sessions.ts'
import { createTestDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization, seedUser } from '../../support/seed.ts'

let db: TestDatabase
let runtime: pg.Client
let org: string
let user: string

interface PlanNode {
  readonly 'Node Type': string
  readonly Operation?: string
  readonly 'Relation Name'?: string
  readonly 'Index Name'?: string
  readonly Plans?: PlanNode[]
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

/** A batched statement's SQL text and the options Database.batched runs it with. */
interface Sent {
  readonly text: string
  readonly options: TransactionOptions
}

/** What a batched statement sends for one item, captured from a run that sends it nowhere. */
async function sentBy<I>(statement: BatchedStatement<I, unknown>, item: I): Promise<Sent> {
  let text = ''
  await statement.run(
    async (sql) => {
      text = sql
      return { rows: [] }
    },
    [item],
  )
  return { text, options: batchOptions(statement) }
}

/**
 * The generic plan of a batched statement as the runtime role runs it in the organization's
 * scope (SCOPE, with the statement's options unless `options` says otherwise): the plan a
 * connection caches for a prepared statement, which no parameter's value shapes (PREPARE and
 * EXPLAIN EXECUTE with plan_cache_mode forced, which PostgreSQL 15 has too).
 */
async function genericPlan({ text, options: own }: Sent, options = own): Promise<PlanNode> {
  const parameters = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])))
  await runtime.query('BEGIN')
  try {
    await runtime.query(SCOPE.text, scopeValues('zenoauth_runtime', org, 5000, options))
    await runtime.query("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
    await runtime.query(`PREPARE probe AS ${text}`)
    const nulls = Array.from({ length: parameters }, () => 'NULL').join(', ')
    const { rows } = await runtime.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (FORMAT JSON) EXECUTE probe${parameters ? `(${nulls})` : ''}`,
    )
    return rows[0]!['QUERY PLAN'][0].Plan
  } finally {
    await runtime.query('ROLLBACK')
    await runtime.query('DEALLOCATE ALL')
  }
}

/**
 * The indexes through which the plan's `operation` (an UPDATE, say) reads the rows of `table`
 * it changes: an index scan's own, a bitmap scan's (all it combines); "Seq Scan" for none.
 */
function indexesOf(plan: PlanNode, operation: string, table: string): string[] {
  const write = nodesOf(plan).find(
    (n) => n['Node Type'] === 'ModifyTable' && n.Operation === operation && n['Relation Name'] === table,
  )
  expect(write, `${operation} on ${table}`).toBeDefined()
  return nodesOf(write!)
    .filter((n) => n !== write && n['Relation Name'] === table)
    .flatMap((n) =>
      n['Node Type'] === 'Bitmap Heap Scan'
        ? nodesOf(n).flatMap((b) => (b['Node Type'] === 'Bitmap Index Scan' ? [b['Index Name']!] : []))
        : [n['Index Name'] ?? n['Node Type']],
    )
}

const digest = (n: number) => Buffer.alloc(32, n)

/** The tables a plan reads whole. */
const seqScansOf = (plan: PlanNode) =>
  nodesOf(plan).flatMap((n) => (n['Node Type'] === 'Seq Scan' ? [n['Relation Name']] : []))

const consume = () => sentBy(codeConsumption, { digest: digest(1), jti: 'j', expiresAt: new Date() })
const rotation = () =>
  sentBy(refreshRotation, {
    tokenDigest: digest(2),
    clientId: 'client',
    nextDigest: digest(3),
    idleSeconds: 3600,
    perMinute: 60,
    scope: [],
    resource: [],
    accessTokenJti: 'j',
    accessTokenExpiresAt: new Date(),
  })
const signedInCode = () =>
  sentBy(signedInCodes, {
    sessionDigest: digest(4),
    idleSeconds: 3600,
    digest: digest(5),
    ttlSeconds: 60,
    firstParty: true,
    clientId: 'client',
    redirectUri: 'https://rp.test/cb',
    scope: ['openid'],
    nonce: null,
    codeChallenge: null,
    resource: null,
  })

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'plans' })
  user = await seedUser(db, org, 'p@plans.test')
  runtime = new pg.Client({ connectionString: db.appUrl })
  await runtime.connect()
})

afterAll(() => runtime.end())

// First in the file: these need tables that no ANALYZE has seen yet, as a new deployment's are.
describe('the plans of the batched statements before the first ANALYZE', () => {
  it('read no table whole, though the tables were a few pages when the plans were made', async () => {
    // A few hundred rows, no statistics: a connection that prepares its statements now keeps
    // their generic plans as the tables grow to millions of rows.
    await db.sql(
      `INSERT INTO authorization_codes (code_digest, organization_id, client_id, user_id, redirect_uri,
         scope, auth_time, amr, expires_at)
       SELECT sha256(int4send(g)), $1, 'client', $2, 'https://rp.test/cb', '{openid}', now(), '{pwd}',
              now() + interval '1 minute'
         FROM generate_series(100001, 100600) g`,
      [org, user],
    )
    await db.sql(
      `INSERT INTO sessions (organization_id, user_id, token_digest, auth_time, idle_expires_at, expires_at)
       SELECT $1, $2, sha256(int4send(g)), now(), now() + interval '1 hour', now() + interval '1 day'
         FROM generate_series(100001, 100600) g`,
      [org, user],
    )
    await db.sql(
      `WITH f AS (
         INSERT INTO refresh_token_families (organization_id, client_id, user_id, scope, auth_time, amr, expires_at)
         VALUES ($1, 'client', $2, '{openid,offline_access}', now(), '{pwd}', now() + interval '30 days')
         RETURNING id
       )
       INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at)
       SELECT sha256(int4send(-g)), $1, f.id, now() + interval '14 days' FROM f, generate_series(1, 600) g`,
      [org, user],
    )
    const consumeSent = await consume()
    // Without the batched statements' setting, PostgreSQL's generic plan reads every code: the
    // plan the bench's connections kept until autovacuum's first ANALYZE.
    expect(seqScansOf(await genericPlan(consumeSent, {}))).toContain('authorization_codes')
    expect(seqScansOf(await genericPlan(consumeSent))).toEqual([])
    expect(seqScansOf(await genericPlan(await rotation()))).toEqual([])
    expect(seqScansOf(await genericPlan(await signedInCode()))).toEqual([])
  })
})

describe('the plans of the batched statements', () => {
  it('consume codes by their digest, even when the statistics say few codes are live', async () => {
    // Statistics taken when every code had expired (a quiet night), then a burst of live ones:
    // the expiry index looks like the cheapest way to the live codes, and would read them all.
    const insert = (from: number, count: number, expiresIn: string) =>
      db.sql(
        `INSERT INTO authorization_codes (code_digest, organization_id, client_id, user_id, redirect_uri,
           scope, auth_time, amr, expires_at)
         SELECT sha256(int4send(g)), $1, 'client', $2, 'https://rp.test/cb', '{openid}', now(), '{pwd}',
                now() + $3::interval
           FROM generate_series($4::int, $4::int + $5::int - 1) g`,
        [org, user, expiresIn, from, count],
      )
    await insert(1, 3000, '-1 hour')
    await db.sql('ANALYZE authorization_codes')
    await insert(3001, 3000, '1 minute')
    expect(indexesOf(await genericPlan(await consume()), 'Update', 'authorization_codes')).toEqual([
      'authorization_codes_pkey',
    ])
  })

  it('rotate refresh tokens by their digest, however long their families’ chains', async () => {
    // Four chains that have rotated 400 times each, as the benchmark's do within seconds.
    for (let chain = 0; chain < 4; chain++) {
      await db.sql(
        `WITH f AS (
           INSERT INTO refresh_token_families (organization_id, client_id, user_id, scope, auth_time, amr, expires_at)
           VALUES ($1, 'client', $2, '{openid,offline_access}', now(), '{pwd}', now() + interval '30 days')
           RETURNING id
         )
         INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at, consumed_at)
         SELECT sha256(int4send($3::int * 1000 + g)), $1, f.id, now() + interval '14 days',
                CASE WHEN g < 400 THEN now() END
           FROM f, generate_series(0, 400) g`,
        [org, user, chain],
      )
    }
    await db.sql('ANALYZE refresh_tokens')
    // Not by the family's index, which lists every token the chain ever had.
    expect(indexesOf(await genericPlan(await rotation()), 'Update', 'refresh_tokens')).toEqual([
      'refresh_tokens_pkey',
    ])
  })

  it('touch the signed-in sessions by their id', async () => {
    await db.sql(
      `INSERT INTO sessions (organization_id, user_id, token_digest, auth_time, idle_expires_at, expires_at)
       SELECT $1, $2, sha256(int4send(g)), now(), now() - interval '1 hour', now() - interval '1 hour'
         FROM generate_series(1, 3000) g`,
      [org, user],
    )
    await db.sql('ANALYZE sessions')
    expect(indexesOf(await genericPlan(await signedInCode()), 'Update', 'sessions')).toEqual([
      'sessions_pkey',
    ])
  })
})
