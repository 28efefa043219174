import { randomBytes, randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  type CodeUse,
  codeConsumption,
  insertAuthorizationCode,
  takeCodeIssuance,
} from '../../../shared/db/authorization.ts'
import type { Database, Queryable } from '../../../shared/db/database.ts'
import { insertRefreshFamilyWithToken, revokeFamilies } from '../../../shared/db/refresh-tokens.ts'
import {
  createTestDatabase,
  holdRowLock,
  runtimeDatabase,
  type TestDatabase,
} from '../../support/database.ts'
import { seedOrganization, seedUser } from '../../support/seed.ts'

let db: TestDatabase
let runtime: Database
let org: string
let user: string

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'org-a', isDefault: true })
  user = await seedUser(db, org, 'alice@a.test')
  runtime = runtimeDatabase(db.appUrl, { poolMax: 3 })
  single = runtime.statements(org)
  return () => runtime.close()
})

/** Each statement on its own, as handlers run them through ctx.db. */
let single: Queryable

/** A stored, consumed code whose exchange issued access token `jti`. */
async function consumedCode(jti: string): Promise<Buffer> {
  const digest = await liveCode(user)
  const consume = (use: CodeUse) => runtime.batched(org, codeConsumption, use)
  expect(await consume({ digest, jti, expiresAt: new Date(Date.now() + 60_000) })).toBeDefined()
  expect(await consume({ digest, jti: 'another', expiresAt: new Date() })).toBeUndefined()
  return digest
}

const family = (
  q: Queryable,
  digest: Buffer,
  jti: string,
  accessTokenExpiresAt = new Date(Date.now() + 600_000),
) =>
  insertRefreshFamilyWithToken(q, org, {
    clientId: 'client-0001',
    userId: user,
    sessionId: null,
    scope: ['openid', 'offline_access'],
    resource: null,
    authorizationDetails: null,
    authTime: new Date(),
    amr: ['pwd'],
    acr: null,
    absoluteSeconds: 3600,
    idleSeconds: 600,
    tokenDigest: randomBytes(32),
    code: { digest, accessTokenJti: jti, accessTokenExpiresAt },
  })

const families = async () =>
  Number((await db.sql<{ n: string }>('SELECT count(*) AS n FROM refresh_token_families'))[0]!.n)

describe('an authorization code’s issuance and its replay', () => {
  it('attaches a refresh family to the code, and a replay takes both issued tokens off it', async () => {
    const jti = randomUUID()
    const digest = await consumedCode(jti)
    const id = await family(single, digest, jti)
    expect(id).toBeDefined()
    const taken = await takeCodeIssuance(single, digest)
    expect(taken).toMatchObject({ accessTokenJti: jti, refreshFamilyId: id })
    // A third use finds nothing left to revoke, but is still a reuse.
    expect(await takeCodeIssuance(single, digest)).toEqual({
      accessTokenJti: null,
      accessTokenExpiresAt: null,
      refreshFamilyId: null,
    })
  })

  it('creates no refresh family once a replay has taken the access token back', async () => {
    const jti = randomUUID()
    const digest = await consumedCode(jti)
    const before = await families()
    expect(await takeCodeIssuance(single, digest)).toMatchObject({
      accessTokenJti: jti,
      refreshFamilyId: null,
    })
    expect(await family(single, digest, jti)).toBeUndefined()
    expect(await families()).toBe(before)
  })

  it('makes a replay wait for a family being attached, and hands that family to it', async () => {
    const jti = randomUUID()
    const digest = await consumedCode(jti)
    let attached!: () => void
    const release = new Promise<void>((r) => {
      attached = r
    })
    let id: string | undefined
    const attaching = runtime.inOrganization(org, async (q) => {
      id = await family(q, digest, jti)
      await release
    })
    // Bounded: the attaching transaction must hold the row before the replay asks for it.
    for (let i = 0; i < 100 && id === undefined; i++) await new Promise((r) => setTimeout(r, 10))
    expect(id).toBeDefined()
    const replay = takeCodeIssuance(single, digest)
    await new Promise((r) => setTimeout(r, 50))
    attached()
    await attaching
    expect(await replay).toMatchObject({ accessTokenJti: jti, refreshFamilyId: id })
  })

  it('reports an unknown or never-consumed code as nothing to take', async () => {
    expect(await takeCodeIssuance(single, randomBytes(32))).toBeUndefined()
  })
})

describe('revoking a refresh family', () => {
  const denied = (jti: string) => db.sql('SELECT jti FROM revoked_access_tokens WHERE jti = $1', [jti])

  it('denies the unexpired access tokens recorded with its refresh tokens, once', async () => {
    const jti = randomUUID()
    const id = (await family(single, await consumedCode(jti), jti))!
    expect(await revokeFamilies(single, { familyId: id }, 'test')).toEqual({ revoked: 1, deniedJtis: [jti] })
    expect(await denied(jti)).toEqual([{ jti }])
    expect(await db.sql('SELECT revoked_reason FROM refresh_token_families WHERE id = $1', [id])).toEqual([
      { revoked_reason: 'test' },
    ])
    // Again: nothing new to revoke or to announce.
    expect(await revokeFamilies(single, { familyId: id }, 'again')).toEqual({ revoked: 0, deniedJtis: [] })
  })

  it('leaves out access tokens that have expired anyway', async () => {
    const jti = randomUUID()
    const id = (await family(single, await consumedCode(jti), jti, new Date(Date.now() - 1000)))!
    expect(await revokeFamilies(single, { familyId: id }, 'test')).toEqual({ revoked: 1, deniedJtis: [] })
    expect(await denied(jti)).toEqual([])
  })
})

/** A code of `userId`'s (openid, offline_access), stored and not yet exchanged; its digest. */
async function liveCode(userId: string, digest = randomBytes(32)): Promise<Buffer> {
  await insertAuthorizationCode(
    single,
    org,
    digest,
    {
      clientId: 'client-0001',
      userId,
      sessionId: null,
      redirectUri: 'https://rp.test/cb',
      scope: ['openid', 'offline_access'],
      nonce: null,
      codeChallenge: null,
      resource: null,
      authorizationDetails: null,
      authTime: new Date(),
      amr: ['pwd'],
      acr: null,
    },
    60,
  )
  return digest
}

/** Resolves once `count` sessions of this database wait on a lock (bounded: ~5 s). */
async function lockWaiters(count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await db.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    )
    if (row!.n >= count) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`fewer than ${count} sessions came to wait on a lock`)
}

describe('revoking a user’s grants while one of their codes is exchanged', () => {
  it('waits for an exchange under way, and denies the access token it issued', async () => {
    const bob = await seedUser(db, org, 'bob@a.test')
    const digest = await liveCode(bob)
    // The exchange has consumed the code and holds its row; it has not committed yet.
    const exchange = await holdRowLock(db, 'authorization_codes', digest, 'code_digest')
    await exchange.sql(
      `UPDATE authorization_codes SET consumed_at = now(), issued_access_token_jti = 'jti-under-way',
         issued_access_token_expires_at = now() + interval '5 minutes' WHERE code_digest = $1`,
      [digest],
    )
    const revocation = runtime.inOrganization(org, (q) => revokeFamilies(q, { userId: bob }, 'user disabled'))
    await exchange.waiters(1)
    await exchange.release()
    expect(await revocation).toEqual({ revoked: 0, deniedJtis: ['jti-under-way'] })
  })

  it('makes an exchange that comes during the revocation wait for it, and then refuses the code', async () => {
    const carol = await seedUser(db, org, 'carol@a.test')
    const digest = await liveCode(carol)
    let done = false
    let go!: () => void
    const gate = new Promise<void>((r) => {
      go = r
    })
    const revocation = runtime.inOrganization(org, async (q) => {
      const result = await revokeFamilies(q, { userId: carol }, 'user disabled')
      done = true
      await gate
      return result
    })
    for (let i = 0; i < 500 && !done; i++) await new Promise((r) => setTimeout(r, 10))
    expect(done).toBe(true)
    const exchange = runtime.batched(org, codeConsumption, {
      digest,
      jti: 'jti-late',
      expiresAt: new Date(Date.now() + 60_000),
    })
    await lockWaiters(1)
    go()
    await revocation
    expect(await exchange).toBeUndefined()
    expect(
      await db.sql('SELECT consumed_at FROM authorization_codes WHERE code_digest = $1', [digest]),
    ).toEqual([{ consumed_at: null }])
  })

  it('takes the pending codes in the order of their digests, as a consume batch does: no deadlock', async () => {
    const dave = await seedUser(db, org, 'dave@a.test')
    const [low, high] = [randomBytes(32), randomBytes(32)]
    low[0] = 0x00
    high[0] = 0xff
    // Stored high first: in the table's order, a revocation would come to it first.
    await liveCode(dave, high)
    await liveCode(dave, low)
    // A consume batch of both (codeConsumption locks in digest order) holds the low one.
    const batch = await holdRowLock(db, 'authorization_codes', low, 'code_digest')
    const revocation = runtime.inOrganization(org, (q) =>
      revokeFamilies(q, { userId: dave }, 'user disabled'),
    )
    await batch.waiters(1)
    // Had the revocation taken the high one first, this would wait for it while it waits for
    // the low one: a deadlock, one of the two aborted after deadlock_timeout.
    await batch.sql('UPDATE authorization_codes SET consumed_at = now() WHERE code_digest = $1', [high])
    await batch.release()
    expect(await revocation).toEqual({ revoked: 0, deniedJtis: [] })
    const rows = await db.sql<{ low: boolean; expired: boolean; consumed: boolean }>(
      `SELECT code_digest = $1 AS low, expires_at < now() AS expired, consumed_at IS NOT NULL AS consumed
         FROM authorization_codes WHERE user_id = $2 ORDER BY code_digest`,
      [low, dave],
    )
    // The low one expired by the revocation; the high one consumed by the batch, left as it was.
    expect(rows).toEqual([
      { low: true, expired: true, consumed: false },
      { low: false, expired: false, consumed: true },
    ])
  })
})
