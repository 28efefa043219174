import { beforeAll, describe, expect, it } from 'vitest'
import type { Database } from '../../../shared/db/database.ts'
import { hitRateLimit, hitRateLimits } from '../../../shared/db/rate-limits.ts'
import { createTestDatabase, runtimeDatabase, type TestDatabase } from '../../support/database.ts'
import { seedOrganization } from '../../support/seed.ts'

let db: TestDatabase
let runtime: Database
let org: string

beforeAll(async () => {
  db = await createTestDatabase()
  org = await seedOrganization(db, { slug: 'org-a', isDefault: true })
  runtime = runtimeDatabase(db.appUrl)
  return () => runtime.close()
})

const hit = (key: string, limit = 10) =>
  runtime.inOrganization(org, (q) => hitRateLimit(q, org, key, 60, limit))

/** Moves a counter's windows back in time, as if `seconds` had passed. */
const age = (key: string, seconds: number) =>
  db.sql(
    `UPDATE rate_limit_counters SET window_start = window_start - make_interval(secs => $2) WHERE key = $1`,
    [key, seconds],
  )

describe('hitRateLimit (sliding window)', () => {
  it('counts several keys in one statement, each on its own, answering in the order asked', async () => {
    await hit('multi-b')
    const [a, b] = await runtime.inOrganization(org, (q) =>
      hitRateLimits(
        q,
        org,
        [
          { key: 'multi-a', limit: 1 },
          { key: 'multi-b', limit: 1 },
        ],
        60,
      ),
    )
    expect(a!.count).toBe(1)
    expect(b!.count).toBe(2)
    expect(b!.retryAfter).toBeGreaterThan(0)
  })

  it('counts hits within the window', async () => {
    for (let i = 1; i <= 3; i++) expect((await hit('a')).count).toBe(i)
  })

  it('still counts the previous window’s hits just after the boundary, so a burst across it is limited', async () => {
    for (let i = 0; i < 10; i++) await hit('burst')
    // The ten hits now belong to the window before the current one, which has just begun.
    await db.sql(
      `UPDATE rate_limit_counters
          SET window_start = to_timestamp(floor(extract(epoch FROM now()) / 60) * 60) - interval '60 seconds'
        WHERE key = 'burst'`,
    )
    const next = await hit('burst')
    // 1 in this window + 10 × (the share of the previous window still inside the last minute).
    const elapsed = (Date.now() / 1000) % 60
    expect(next.count).toBeCloseTo(1 + 10 * (1 - elapsed / 60), 0)
  })

  it('forgets windows older than the previous one', async () => {
    for (let i = 0; i < 10; i++) await hit('old')
    await age('old', 180)
    expect((await hit('old')).count).toBe(1)
  })

  it('says how long until one more hit fits', async () => {
    for (let i = 0; i < 11; i++) await hit('full')
    const over = await hit('full')
    expect(over.count).toBeGreaterThan(10)
    // This window alone is full: the wait runs past its end, while its count still weighs.
    const elapsed = (Date.now() / 1000) % 60
    expect(over.retryAfter).toBeGreaterThanOrEqual(Math.floor(60 - elapsed))
    expect(over.retryAfter).toBeLessThanOrEqual(120)
  })
})
