/**
 * Batched statements (shared/db/batch.ts) on a real PostgreSQL, with the statement the token
 * endpoint batches: the rotation of refresh tokens. Uses that arrive while a batch is in flight
 * go together in the next one, each with its own outcome; the same token never twice in one
 * batch; a failing batch fails each of its requests and writes nothing; each organization's
 * items run under its own row-level security scope.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CodeUse, codeConsumption } from '../../../shared/db/authorization.ts'
import { type BatchedStatement, Batcher, type StatementRunner } from '../../../shared/db/batch.ts'
import type { Database, Queryable } from '../../../shared/db/database.ts'
import {
  consumeRefreshToken,
  type Rotation,
  type RotationRecord,
  refreshRotation,
  revokeFamilies,
} from '../../../shared/db/refresh-tokens.ts'
import { endSessions, type SignedInCode, signedInCodes } from '../../../shared/db/sessions.ts'
import { Unavailable } from '../../../shared/db/unavailable.ts'
import { Metrics } from '../../../shared/http/metrics.ts'
import {
  createTestDatabase,
  holdRowLock,
  runtimeDatabase,
  type TestDatabase,
} from '../../support/database.ts'
import { seedOrganization, seedUser } from '../../support/seed.ts'

let db: TestDatabase
let database: Database
let orgA: string
let orgB: string
const users = new Map<string, string>()

// Each token and successor gets its own number: a digest of 32 bytes of it.
let counter = 0
const digest = (n = ++counter) => {
  const b = Buffer.alloc(32)
  b.writeUInt32BE(n)
  return b
}

/** A family with one usable token, as a code exchange leaves it; the token's digest. */
async function usableToken(org: string): Promise<Buffer> {
  const token = digest()
  await db.sql(
    `WITH f AS (
       INSERT INTO refresh_token_families (organization_id, client_id, user_id, scope, auth_time, amr, expires_at)
       VALUES ($1, 'client', $2, '{openid,offline_access}', now(), '{pwd}', now() + interval '30 days') RETURNING id
     )
     INSERT INTO refresh_tokens (token_digest, organization_id, family_id, idle_expires_at)
     SELECT $3, $1, f.id, now() + interval '14 days' FROM f`,
    [org, users.get(org), token],
  )
  return token
}

const use = (token: Buffer, overrides: Partial<Rotation> = {}): Rotation => ({
  tokenDigest: token,
  clientId: 'client',
  nextDigest: digest(),
  idleSeconds: 3600,
  perMinute: 1000,
  scope: [],
  resource: [],
  accessTokenJti: `jti-${counter}`,
  accessTokenExpiresAt: new Date(Date.now() + 300_000),
  ...overrides,
})

/** `statement`, noting the size of each batch it runs. */
function sized<I, O>(
  statement: BatchedStatement<I, O>,
): { statement: BatchedStatement<I, O>; sizes: number[] } {
  const sizes: number[] = []
  return {
    sizes,
    statement: {
      ...statement,
      run(query, items) {
        sizes.push(items.length)
        return statement.run(query, items)
      },
    },
  }
}

/** The rotation statement, noting the size of each batch it runs. */
const observed = () => sized(refreshRotation)

/** Batches run as the runtime's Database runs them: one statement in the organization's scope. */
const runner =
  (org: string): StatementRunner =>
  (text, values) =>
    database.statement(org, text, values)

function batcherOf(statement: BatchedStatement<Rotation, RotationRecord>, inFlight: number, maxItems = 64) {
  return new Batcher(statement, { inFlight, maxItems }, runner)
}

/** One statement at a time in `org`, as a handler's ctx.db.query runs them. */
const tenant = (org: string): Queryable => database.statements(org)

/** Submits `first` and waits until its batch is in flight, stuck on a lock of its token's row. */
async function stuck(b: Batcher<Rotation, RotationRecord>, org: string) {
  const token = await usableToken(org)
  const lock = await holdRowLock(db, 'refresh_tokens', token, 'token_digest')
  const first = b.submit(org, use(token))
  await lock.waiters(1)
  return { first, release: () => lock.release() }
}

const consumed = async (token: Buffer) =>
  (
    await db.sql<{ c: boolean }>(
      'SELECT consumed_at IS NOT NULL AS c FROM refresh_tokens WHERE token_digest = $1',
      [token],
    )
  )[0]?.c

beforeAll(async () => {
  db = await createTestDatabase()
  database = runtimeDatabase(db.appUrl, { poolMax: 4 })
  orgA = await seedOrganization(db, { slug: 'batch-a' })
  orgB = await seedOrganization(db, { slug: 'batch-b' })
  users.set(orgA, await seedUser(db, orgA, 'a@batch.test'))
  users.set(orgB, await seedUser(db, orgB, 'b@batch.test'))
})

afterAll(() => database.close())

describe('a batched statement', () => {
  it('runs at once, alone, while a batch slot is free', async () => {
    const { statement, sizes } = observed()
    const b = batcherOf(statement, 2)
    for (let i = 0; i < 3; i++)
      expect((await b.submit(orgA, use(await usableToken(orgA))))?.rotated).toBe(true)
    expect(sizes).toEqual([1, 1, 1])
  })

  it('sends the uses that wait for a slot together, each with its own outcome', async () => {
    const { statement, sizes } = observed()
    const b = batcherOf(statement, 1)
    const { first, release } = await stuck(b, orgA)
    const [plain, wider, other] = [await usableToken(orgA), await usableToken(orgA), await usableToken(orgA)]
    const waiting = [
      b.submit(orgA, use(plain)),
      b.submit(orgA, use(wider, { scope: ['openid', 'admin'] })),
      b.submit(orgA, use(digest())),
      b.submit(orgA, use(other, { clientId: 'another-client' })),
    ]
    expect(b.inFlight).toBe(1)
    expect(b.stats.waiting).toBe(4)
    await release()
    expect((await first)?.rotated).toBe(true)
    const [a, w, unknown, foreign] = await Promise.all(waiting)
    expect(sizes).toEqual([1, 4])
    expect(a).toMatchObject({ rotated: true, scope_ok: true, within_limit: true, count: 1 })
    expect(w).toMatchObject({ rotated: false, scope_ok: false })
    expect(unknown).toBeUndefined()
    expect(foreign).toBeUndefined()
    expect([await consumed(plain), await consumed(wider), await consumed(other)]).toEqual([
      true,
      false,
      false,
    ])
  })

  it('never puts the same token twice in one batch: one rotation, then a reuse', async () => {
    const { statement, sizes } = observed()
    const b = batcherOf(statement, 1)
    const { first, release } = await stuck(b, orgA)
    const token = await usableToken(orgA)
    const rotate = (r: Rotation) => b.submit(orgA, r)
    const twice = [
      consumeRefreshToken(tenant(orgA), use(token), rotate),
      consumeRefreshToken(tenant(orgA), use(token), rotate),
    ]
    await release()
    await first
    const states = (await Promise.all(twice)).map((l) => l.state)
    expect(states.sort()).toEqual(['reused', 'rotated'])
    expect(sizes).toEqual([1, 1, 1])
  })

  it('leaves a token used at once in two processes to its row lock: one rotation, then a reuse', async () => {
    // Each process has its own batches; they meet on the token's row.
    const [one, two] = [batcherOf(refreshRotation, 1), batcherOf(refreshRotation, 1)]
    const token = await usableToken(orgA)
    const lock = await holdRowLock(db, 'refresh_tokens', token, 'token_digest')
    const twice = [
      consumeRefreshToken(tenant(orgA), use(token), (r) => one.submit(orgA, r)),
      consumeRefreshToken(tenant(orgA), use(token), (r) => two.submit(orgA, r)),
    ]
    await lock.waiters(2)
    await lock.release()
    expect((await Promise.all(twice)).map((l) => l.state).sort()).toEqual(['reused', 'rotated'])
  })

  it('runs the items alone when one item’s data fails the batch: only that request fails, with nothing written', async () => {
    const { statement, sizes } = observed()
    const b = batcherOf(statement, 1)
    const { first, release } = await stuck(b, orgA)
    const [good, bad] = [await usableToken(orgA), await usableToken(orgA)]
    // A successor digest of the wrong length breaks the table's CHECK: the batch rolls back,
    // and its items run again one at a time.
    const waiting = [b.submit(orgA, use(good)), b.submit(orgA, use(bad, { nextDigest: Buffer.alloc(31) }))]
    const outcomes = Promise.allSettled(waiting)
    await release()
    await first
    const [forGood, forBad] = await outcomes
    expect(forGood).toMatchObject({ status: 'fulfilled', value: { rotated: true } })
    expect(forBad).toMatchObject({ status: 'rejected', reason: { code: '23514' } })
    expect(sizes).toEqual([1, 2, 1, 1])
    expect([await consumed(good), await consumed(bad)]).toEqual([true, false])
    const hits = await db.sql(
      `SELECT 1 FROM rate_limit_counters c JOIN refresh_tokens r ON c.key = 'refresh:' || r.family_id
        WHERE r.token_digest = $1`,
      [bad],
    )
    expect(hits).toEqual([])
  })

  it('fails every request of a batch the database cannot run, with the same error', async () => {
    // A statement that outlasts the statement timeout: the database's fault, not an item's.
    const impatient = runtimeDatabase(db.appUrl, { statementTimeoutMs: 100 })
    const slow: BatchedStatement<number, number> = {
      name: 'slow',
      async run(query, items) {
        await query('SELECT pg_sleep(1)', [])
        return [...items]
      },
    }
    const { statement, sizes } = sized(slow)
    const b = new Batcher(
      statement,
      { inFlight: 1, maxItems: 64 },
      (org) => (text, values) => impatient.statement(org, text, values),
    )
    try {
      const outcomes = await Promise.allSettled([1, 2, 3].map((n) => b.submit(orgA, n)))
      for (const o of outcomes)
        expect(o).toMatchObject({ status: 'rejected', reason: expect.any(Unavailable) })
      expect(sizes).toEqual([1, 2])
    } finally {
      await impatient.close()
    }
  })

  it('runs each organization’s items in batches of their own, under its own scope, in turn', async () => {
    const { statement, sizes } = observed()
    const b = batcherOf(statement, 1)
    const { first, release } = await stuck(b, orgA)
    const [a1, b1, a2] = [await usableToken(orgA), await usableToken(orgB), await usableToken(orgA)]
    const waiting = [b.submit(orgA, use(a1)), b.submit(orgB, use(b1)), b.submit(orgA, use(a2))]
    // Under A's scope, row-level security hides B's token: it is rotated only in B's batch.
    await release()
    await first
    expect((await Promise.all(waiting)).map((r) => r?.rotated)).toEqual([true, true, true])
    expect(sizes).toEqual([1, 2, 1])
  })

  it('counts the batches each process runs, and their items, for the metrics', async () => {
    // The runtime's own Database: its batches of refreshRotation, as the token endpoint makes them.
    await database.batched(orgA, refreshRotation, use(await usableToken(orgA)))
    await Promise.all([
      database.batched(orgA, refreshRotation, use(await usableToken(orgA))),
      database.batched(orgA, refreshRotation, use(await usableToken(orgA))),
    ])
    expect(database.batchStats()).toEqual([
      { statement: 'refresh_token_rotation', batches: 3, items: 3, waiting: 0 },
    ])
    const text = await new Metrics(
      () => database.stats(),
      () => database.batchStats(),
    ).registry.metrics()
    expect(text).toMatch(/^zenoauth_db_batches_total\{statement="refresh_token_rotation"\} 3$/m)
    expect(text).toMatch(/^zenoauth_db_batched_items_total\{statement="refresh_token_rotation"\} 3$/m)
    expect(text).toMatch(/^zenoauth_db_batch_waiting\{statement="refresh_token_rotation"\} 0$/m)
  })

  it('commits a statement marked durable: false without waiting for the WAL flush', async () => {
    // A statement that answers each item with the commit mode of its batch's transaction.
    const commitMode = (durable: boolean): BatchedStatement<number, string> => ({
      name: `commit_mode_${durable}`,
      ...(durable ? {} : { durable: false as const }),
      async run(query, items) {
        const { rows } = await query<{ mode: string }>(
          "SELECT current_setting('synchronous_commit') AS mode",
          [],
        )
        return items.map(() => rows[0]!.mode)
      },
    })
    // The server's own setting, for new connections: not the test cluster's `off`.
    await db.sql(`ALTER DATABASE ${db.name} SET synchronous_commit = 'remote_apply'`)
    const fresh = runtimeDatabase(db.appUrl, { poolMax: 1 })
    try {
      expect(await fresh.batched(orgA, commitMode(false), 1)).toBe('off')
      // Otherwise what the server says, on the same connection after the other's commit.
      expect(await fresh.batched(orgA, commitMode(true), 1)).toBe('remote_apply')
    } finally {
      await fresh.close()
      await db.sql(`ALTER DATABASE ${db.name} RESET synchronous_commit`)
    }
  })

  it('runs a batched statement with sequential scans off, and other statements as the server says', async () => {
    const seqScan: BatchedStatement<number, string> = {
      name: 'seq_scan_setting',
      async run(query, items) {
        const { rows } = await query<{ s: string }>("SELECT current_setting('enable_seqscan') AS s", [])
        return items.map(() => rows[0]!.s)
      },
    }
    const fresh = runtimeDatabase(db.appUrl, { poolMax: 1 })
    try {
      expect(await fresh.batched(orgA, seqScan, 1)).toBe('off')
      // The same connection, after the batch's commit.
      const setting = async () =>
        (await fresh.statement(orgA, "SELECT current_setting('enable_seqscan') AS s")).rows[0]!.s
      expect(await setting()).toBe('on')
      expect(
        await fresh.inOrganization(
          orgA,
          async (q) => (await q.query('SHOW enable_seqscan')).rows[0]!.enable_seqscan,
        ),
      ).toBe('on')
    } finally {
      await fresh.close()
    }
  })

  it('keeps as many batches in flight as DATABASE_BATCHES_IN_FLIGHT says', async () => {
    const two = runtimeDatabase(db.appUrl, { poolMax: 4, batchesInFlight: 2 })
    try {
      const held = await usableToken(orgA)
      const lock = await holdRowLock(db, 'refresh_tokens', held, 'token_digest')
      const first = two.batched(orgA, refreshRotation, use(held))
      await lock.waiters(1)
      // The second slot is free: this one goes at once and returns while the first still waits.
      expect((await two.batched(orgA, refreshRotation, use(await usableToken(orgA))))?.rotated).toBe(true)
      await lock.release()
      expect((await first)?.rotated).toBe(true)
      expect(two.batchStats()).toEqual([
        { statement: 'refresh_token_rotation', batches: 2, items: 2, waiting: 0 },
      ])
    } finally {
      await two.close()
    }
  })

  it('lets a returned batch’s requests carry on perTurn at a time, reading what arrived in between', async () => {
    const b = new Batcher(refreshRotation, { inFlight: 1, maxItems: 64, perTurn: 2 }, runner)
    const { first, release } = await stuck(b, orgA)
    const tokens = [] as Buffer[]
    for (let i = 0; i < 5; i++) tokens.push(await usableToken(orgA))
    // Each request notes whether the event loop has turned since the first went on: a callback
    // that the first one schedules stands for the I/O that arrives meanwhile.
    let turned = false
    const seen: boolean[] = []
    const waiting = tokens.map((t, i) =>
      b.submit(orgA, use(t)).then((r) => {
        if (i === 0) setImmediate(() => (turned = true))
        seen[i] = turned
        return r?.rotated
      }),
    )
    await release()
    await first
    expect(await Promise.all(waiting)).toEqual([true, true, true, true, true])
    // Two in the batch's turn, two in the next, and the fifth after the scheduled callback.
    expect(seen).toEqual([false, false, false, false, true])
  })

  it('takes at most maxItems in one batch; the rest go in the next, in order', async () => {
    const { statement, sizes } = observed()
    const b = batcherOf(statement, 1, 2)
    const { first, release } = await stuck(b, orgA)
    const tokens = [await usableToken(orgA), await usableToken(orgA), await usableToken(orgA)]
    const waiting = tokens.map((t) => b.submit(orgA, use(t)))
    await release()
    await first
    expect((await Promise.all(waiting)).map((r) => r?.rotated)).toEqual([true, true, true])
    expect(sizes).toEqual([1, 2, 1])
  })
})

const familyOf = async (token: Buffer) =>
  (
    await db.sql<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_digest = $1', [
      token,
    ])
  )[0]!.family_id

describe('a rotation and a revocation of its family at the same moment', () => {
  it('a revocation that comes during a rotation waits for it, and denies its access token', async () => {
    const token = await usableToken(orgA)
    const family = await familyOf(token)
    // The rotation reads its family, then waits on its token's row.
    const lock = await holdRowLock(db, 'refresh_tokens', token, 'token_digest')
    const rotation = database.batched(orgA, refreshRotation, use(token, { accessTokenJti: 'jti-racing' }))
    await lock.waiters(1)
    const revocation = database.inOrganization(orgA, (q) => revokeFamilies(q, { familyId: family }, 'test'))
    // It waits for the rotation's hold on the family, not past it (bounded: waiters throws).
    await lock.waiters(2)
    await lock.release()
    expect((await rotation)?.rotated).toBe(true)
    expect(await revocation).toEqual({ revoked: 1, deniedJtis: ['jti-racing'] })
  })

  it('a rotation that comes during a revocation refuses the token at once, without waiting', async () => {
    const token = await usableToken(orgA)
    const family = await familyOf(token)
    const revocation = await holdRowLock(db, 'refresh_token_families', family)
    await revocation.sql('UPDATE refresh_token_families SET revoked_at = now() WHERE id = $1', [family])
    // Answered while the revocation is still open: it holds the family, which the rotation skips.
    expect(await database.batched(orgA, refreshRotation, use(token))).toBeUndefined()
    await revocation.release()
    expect(await consumed(token)).toBe(false)
  })

  it('a batch holding one family does not deadlock with a revocation holding another', async () => {
    // A user's two grants, rotated in one batch while the user's revocation takes both.
    const [first, second] = [await usableToken(orgA), await usableToken(orgA)]
    const [familyOne, familyTwo] = [await familyOf(first), await familyOf(second)]
    const revocation = await holdRowLock(db, 'refresh_token_families', familyTwo)
    const tokenLock = await holdRowLock(db, 'refresh_tokens', first, 'token_digest')
    const b = batcherOf(refreshRotation, 1)
    const { first: earlier, release } = await stuck(b, orgA)
    const [one, two] = [b.submit(orgA, use(first)), b.submit(orgA, use(second))]
    await release()
    await earlier
    // The batch holds the first family (and, skipping the second, waits on the first's token).
    await tokenLock.waiters(1)
    // The revocation, holding the second family, comes for the first: it waits for the batch.
    const revokeFirst = revocation.sql('UPDATE refresh_token_families SET revoked_at = now() WHERE id = $1', [
      familyOne,
    ])
    await tokenLock.waiters(2)
    await tokenLock.release()
    // Had the batch waited for the second family, each would wait for the other (a deadlock).
    expect((await one)?.rotated).toBe(true)
    expect(await two).toBeUndefined()
    await revokeFirst
    await revocation.release()
  })
})

/** A live session of `org`'s user, last seen `seenAgo` ago; its cookie's digest and id. */
async function liveSession(
  org: string,
  seenAgo = '0 seconds',
  cookie = digest(),
  userId = users.get(org),
): Promise<{ cookie: Buffer; id: string }> {
  const [row] = await db.sql<{ id: string }>(
    `INSERT INTO sessions (organization_id, user_id, token_digest, auth_time, last_seen_at, idle_expires_at, expires_at)
     VALUES ($1, $2, $3, now(), now() - $4::interval, now() + interval '1 hour', now() + interval '1 day') RETURNING id`,
    [org, userId, cookie, seenAgo],
  )
  return { cookie, id: row!.id }
}

const codeFor = (session: Buffer, overrides: Partial<SignedInCode> = {}): SignedInCode => ({
  sessionDigest: session,
  idleSeconds: 7200,
  digest: digest(),
  ttlSeconds: 60,
  firstParty: true,
  clientId: 'client',
  redirectUri: 'https://rp.test/cb',
  scope: ['openid', 'profile'],
  nonce: null,
  codeChallenge: null,
  resource: null,
  ...overrides,
})

const codeUse = (code: Buffer): CodeUse => ({
  digest: code,
  jti: `jti-${++counter}`,
  expiresAt: new Date(Date.now() + 300_000),
})

describe('the code flow’s batched statements', () => {
  it('issue codes for the signed-in sessions of a batch: consent, liveness and the touch per request', async () => {
    const { statement, sizes } = sized(signedInCodes)
    const b = new Batcher(statement, { inFlight: 1, maxItems: 64 }, runner)
    // The first batch touches a session last seen long ago and waits on the test's lock of it.
    const stale = await liveSession(orgA, '2 minutes')
    const lock = await holdRowLock(db, 'sessions', stale.id)
    const first = b.submit(orgA, codeFor(stale.cookie))
    await lock.waiters(1)
    const shared = await liveSession(orgA)
    const consented = await liveSession(orgA)
    await db.sql(
      `INSERT INTO consents (organization_id, user_id, client_id, scope) VALUES ($1, $2, 'third', '{openid}')`,
      [orgA, users.get(orgA)],
    )
    const ended = await liveSession(orgA)
    await db.sql('UPDATE sessions SET ended_at = now() WHERE id = $1', [ended.id])
    const requests = [
      codeFor(shared.cookie),
      codeFor(shared.cookie),
      codeFor(consented.cookie, { firstParty: false, clientId: 'third', scope: ['openid'] }),
      codeFor(consented.cookie, { firstParty: false, clientId: 'third', scope: ['openid', 'email'] }),
      codeFor(ended.cookie),
      codeFor(digest()),
    ]
    const waiting = requests.map((r) => b.submit(orgA, r))
    await lock.release()
    expect(await first).toEqual({ userId: users.get(orgA), sessionId: stale.id })
    const grants = await Promise.all(waiting)
    expect(sizes).toEqual([1, 6])
    expect(grants).toEqual([
      { userId: users.get(orgA), sessionId: shared.id },
      { userId: users.get(orgA), sessionId: shared.id },
      { userId: users.get(orgA), sessionId: consented.id },
      undefined,
      undefined,
      undefined,
    ])
    const stored = await db.sql<{ d: Buffer; session_id: string; scope: string[] }>(
      'SELECT code_digest AS d, session_id, scope FROM authorization_codes WHERE code_digest = ANY($1)',
      [requests.map((r) => r.digest)],
    )
    expect(stored.map((c) => c.d.toString('hex')).sort()).toEqual(
      requests
        .slice(0, 3)
        .map((r) => r.digest.toString('hex'))
        .sort(),
    )
    const [touched] = await db.sql<{ recent: boolean }>(
      "SELECT last_seen_at > now() - interval '1 minute' AS recent FROM sessions WHERE id = $1",
      [stale.id],
    )
    expect(touched).toEqual({ recent: true })
  })

  it('issue the other codes of a batch when one request’s data is refused', async () => {
    const { statement, sizes } = sized(signedInCodes)
    const b = new Batcher(statement, { inFlight: 1, maxItems: 64 }, runner)
    const { cookie } = await liveSession(orgA)
    // PostgreSQL refuses a NUL character in text: that request fails, the others do not.
    const requests = [codeFor(cookie), codeFor(cookie, { nonce: 'a\u0000b' }), codeFor(cookie)]
    const outcomes = await Promise.allSettled(requests.map((r) => b.submit(orgA, r)))
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect(sizes).toEqual([1, 2, 1, 1])
  })

  it('consume the codes of a batch once each; the same code twice goes in the next batch and finds it used', async () => {
    const { statement, sizes } = sized(codeConsumption)
    const b = new Batcher(statement, { inFlight: 1, maxItems: 64 }, runner)
    const { cookie } = await liveSession(orgA)
    const issue = async () => {
      const request = codeFor(cookie)
      await database.batched(orgA, signedInCodes, request)
      return request.digest
    }
    const held = await issue()
    const lock = await holdRowLock(db, 'authorization_codes', held, 'code_digest')
    const first = b.submit(orgA, codeUse(held))
    await lock.waiters(1)
    const [one, two] = [await issue(), await issue()]
    const waiting = [b.submit(orgA, codeUse(one)), b.submit(orgA, codeUse(one)), b.submit(orgA, codeUse(two))]
    await lock.release()
    expect((await first)?.code.sessionId).toBeDefined()
    const [once, again, other] = await Promise.all(waiting)
    expect(sizes).toEqual([1, 2, 1])
    expect(once).toMatchObject({
      userActive: true,
      code: { userId: users.get(orgA), scope: ['openid', 'profile'] },
    })
    expect(again).toBeUndefined()
    expect(other).toMatchObject({ userActive: true })
  })
})

describe('ending a user’s sessions while a batch touches them', () => {
  it('takes the sessions in the order of their cookies’ digests, as the batch does: no deadlock', async () => {
    const erin = await seedUser(db, orgA, 'erin@batch.test')
    const low = digest()
    const high = digest()
    low[0] = 0x00
    high[0] = 0xff
    // Stored high first: in the table's order, ending them would come to it first.
    const second = await liveSession(orgA, '2 minutes', high, erin)
    const first = await liveSession(orgA, '2 minutes', low, erin)
    // A batch of codes for both sessions (signedInCodes touches them in digest order) holds the first.
    const batch = await holdRowLock(db, 'sessions', first.id)
    const ending = database.inOrganization(orgA, (q) => endSessions(q, erin))
    await batch.waiters(1)
    // Had the ending taken the second session first, this would wait for it while it waits
    // for the first: a deadlock, one of the two aborted after deadlock_timeout.
    await batch.sql('UPDATE sessions SET last_seen_at = now() WHERE id = $1', [second.id])
    await batch.release()
    expect(new Set(await ending)).toEqual(new Set([first.id, second.id]))
  })
})
