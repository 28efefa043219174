/**
 * The deny list held per process: in memory up to a bound per organization, looked up in the
 * database token by token past it, so that a client revoking every token it gets cannot grow
 * the process's memory without end; either way a revoked, unexpired token is refused and
 * nothing else is.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../../shared/db/database.ts'
import { RevocationList } from '../../../shared/oauth/revocation-list.ts'
import { createTestDatabase, runtimeDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization } from '../../support/seed.ts'

let db: TestDatabase
let database: Database
let org: string
let other: string

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'deny-a', isDefault: true })
  other = await seedOrganization(db, { slug: 'deny-b' })
  database = runtimeDatabase(db.appUrl, { poolMax: 2 })
  return () => database.close()
})

let counter = 0
/** Puts `count` new jtis of `organization` on the deny list; `expired` ones expired a minute ago. */
async function revoke(organization: string, count: number, expired = false): Promise<string[]> {
  const jtis = Array.from({ length: count }, () => `jti-${++counter}`)
  await db.sql(
    `INSERT INTO revoked_access_tokens (organization_id, jti, expires_at)
     SELECT $1, j, now() + ($3 || ' minutes')::interval FROM unnest($2::text[]) AS j`,
    [organization, jtis, expired ? '-1' : '10'],
  )
  return jtis
}

/** The database round trips `work` makes. */
async function roundTrips(work: () => Promise<unknown>): Promise<number> {
  let n = 0
  const count = () => {
    n++
  }
  database.pool.on('acquire', count)
  try {
    await work()
  } finally {
    database.pool.off('acquire', count)
  }
  return n
}

describe('the deny list', () => {
  it('refuses revoked, unexpired tokens only, from memory once loaded', async () => {
    const org1 = await seedOrganization(db, { slug: `deny-${++counter}` })
    const list = new RevocationList(database, 60_000, { maxHeld: 10 })
    const [revoked] = await revoke(org1, 3)
    const [expired] = await revoke(org1, 1, true)
    const [foreign] = await revoke(other, 1)
    expect(await list.isRevoked(org1, revoked!)).toBe(true)
    const trips = await roundTrips(async () => {
      expect(await list.isRevoked(org1, revoked!)).toBe(true)
      expect(await list.isRevoked(org1, expired!)).toBe(false)
      expect(await list.isRevoked(org1, foreign!)).toBe(false)
      expect(await list.isRevoked(org1, 'never-issued')).toBe(false)
    })
    expect(trips).toBe(0)
  })

  it('past its bound, looks each token up in the database, with the same answers', async () => {
    const list = new RevocationList(database, 60_000, { maxHeld: 10 })
    const revoked = await revoke(org, 11)
    const [expired] = await revoke(org, 1, true)
    const [foreign] = await revoke(other, 1)
    for (const jti of revoked) expect(await list.isRevoked(org, jti)).toBe(true)
    const trips = await roundTrips(async () => {
      expect(await list.isRevoked(org, revoked[0]!)).toBe(true)
      expect(await list.isRevoked(org, expired!)).toBe(false)
      expect(await list.isRevoked(org, foreign!)).toBe(false)
      expect(await list.isRevoked(org, 'never-issued')).toBe(false)
    })
    expect(trips).toBe(4)
  })

  it('grown past its bound by announcements, is loaded afresh and looked up one by one', async () => {
    const org2 = await seedOrganization(db, { slug: `deny-${++counter}` })
    const list = new RevocationList(database, 60_000, { maxHeld: 5 })
    const held = await revoke(org2, 5)
    expect(await list.isRevoked(org2, held[0]!)).toBe(true)
    // Announced (NOTIFY) as they are revoked: the sixth takes the list past its bound.
    const announced = await revoke(org2, 1)
    list.add(org2, announced[0]!)
    await new Promise((r) => setImmediate(r))
    expect(await roundTrips(() => list.isRevoked(org2, announced[0]!))).toBeGreaterThan(0)
    expect(await list.isRevoked(org2, announced[0]!)).toBe(true)
    expect(await list.isRevoked(org2, 'never-issued')).toBe(false)
    expect(await roundTrips(() => list.isRevoked(org2, held[4]!))).toBe(1)
  })

  it('under its bound, takes an announced revocation at once, without a reload', async () => {
    const org3 = await seedOrganization(db, { slug: `deny-${++counter}` })
    const list = new RevocationList(database, 60_000, { maxHeld: 10 })
    expect(await list.isRevoked(org3, 'later')).toBe(false)
    list.add(org3, 'later')
    await new Promise((r) => setImmediate(r))
    expect(await roundTrips(async () => expect(await list.isRevoked(org3, 'later')).toBe(true))).toBe(0)
  })
})
