/** The audit buffer of high-volume events, against a real database. */
import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { AuditLog } from '../../../shared/audit/audit-log.ts'
import { createTestRuntime, type TestRuntime } from '../../support/runtime.ts'

let t: TestRuntime
beforeAll(async () => {
  t = await createTestRuntime()
})

const event = (n: number) => ({
  actorType: 'client' as const,
  actorId: `client-${n}`,
  action: 'token.issued',
  targetType: 'client',
  targetId: `client-${n}`,
  result: 'success' as const,
  ip: '10.9.0.1',
  userAgent: 'x'.repeat(600),
  requestId: `req-${n}`,
  details: { n, scope: 'a b', nested: { ok: true } },
})

/** Waits (bounded: 2 s) until `orgId` has `n` audit events; returns how many it has. */
async function eventsOf(orgId: string, n: number): Promise<number> {
  let count = 0
  for (let i = 0; i < 100; i++) {
    const rows = await t.db.sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_events WHERE organization_id = $1',
      [orgId],
    )
    count = rows[0]!.n
    if (count >= n) break
    await new Promise((r) => setTimeout(r, 20))
  }
  return count
}

const newOrganization = async (slug: string, id = randomUUID()) => {
  await t.db.sql('INSERT INTO organizations (id, slug, name) VALUES ($1, $2, $2)', [id, slug])
  return id
}

const failedWrites = () => t.logs.records.filter((r) => r.msg === 'audit batch not written; retrying').length

describe('AuditLog', () => {
  it('writes as soon as batchSize events wait, before the interval', async () => {
    const orgId = await newOrganization('audit-batch')
    const log = new AuditLog(t.runtime.db, t.runtime.log, { flushIntervalMs: 60_000, batchSize: 2 })
    log.start()
    try {
      log.record(orgId, event(1))
      await new Promise((r) => setTimeout(r, 50))
      expect(await eventsOf(orgId, 0)).toBe(0)
      log.record(orgId, event(2))
      expect(await eventsOf(orgId, 2)).toBe(2)
    } finally {
      await log.stop()
    }
  })

  it('after a failed write, leaves the retries to the interval until a write succeeds', async () => {
    const orgId = randomUUID()
    const log = new AuditLog(t.runtime.db, t.runtime.log, { flushIntervalMs: 60_000, batchSize: 1 })
    log.start()
    try {
      const before = failedWrites()
      log.record(orgId, event(1))
      for (let i = 0; i < 100 && failedWrites() === before; i++) await new Promise((r) => setTimeout(r, 20))
      expect(failedWrites()).toBe(before + 1)
      // Each of these would start a write that fails again; none does.
      for (let n = 2; n <= 5; n++) log.record(orgId, event(n))
      await new Promise((r) => setTimeout(r, 100))
      expect(failedWrites()).toBe(before + 1)
      // The interval's retry (here: a flush) succeeds; writing by size resumes.
      await newOrganization('audit-retry', orgId)
      await log.flush()
      expect(await eventsOf(orgId, 5)).toBe(5)
      log.record(orgId, event(6))
      expect(await eventsOf(orgId, 6)).toBe(6)
    } finally {
      await log.stop()
    }
  })

  it('writes an event whose text holds NUL characters, with U+FFFD in their place, and the rest of its batch', async () => {
    const orgId = await newOrganization('audit-nul')
    const log = new AuditLog(t.runtime.db, t.runtime.log)
    // A client_id of `%00…` on a failed client authentication, say.
    log.record(orgId, { ...event(1), actorId: 'bad\0client', details: { reason: 'x\0y', list: ['\0'] } })
    log.record(orgId, event(2))
    await log.flush()
    const rows = await t.db.sql<{ actor_id: string; details: unknown }>(
      'SELECT actor_id, details FROM audit_events WHERE organization_id = $1 ORDER BY request_id',
      [orgId],
    )
    expect(rows).toEqual([
      { actor_id: 'bad\uFFFDclient', details: { reason: 'x\uFFFDy', list: ['\uFFFD'] } },
      { actor_id: 'client-2', details: { n: 2, scope: 'a b', nested: { ok: true } } },
    ])
    await log.stop()
  })

  it('drops only an event the database refuses as data, saying so, and writes the others of its batch', async () => {
    const orgId = await newOrganization('audit-refused')
    const log = new AuditLog(t.runtime.db, t.runtime.log)
    const before = failedWrites()
    log.record(orgId, event(1))
    // Not an address: the inet column refuses it (22P02), and would every retry.
    log.record(orgId, { ...event(2), ip: 'not an address' })
    log.record(orgId, event(3))
    await log.flush()
    const rows = await t.db.sql<{ request_id: string }>(
      'SELECT request_id FROM audit_events WHERE organization_id = $1 ORDER BY request_id',
      [orgId],
    )
    expect(rows.map((r) => r.request_id)).toEqual(['req-1', 'req-3'])
    expect(t.logs.records.filter((r) => r.msg === 'audit event refused by the database: dropped')).toEqual([
      expect.objectContaining({ organizationId: orgId, action: 'token.issued', requestId: 'req-2' }),
    ])
    // Nothing left to retry.
    expect(failedWrites()).toBe(before)
    await log.flush()
    expect(await eventsOf(orgId, 2)).toBe(2)
    await log.stop()
  })

  it('keeps a failed batch and writes it once it can, with the times recorded; drops past its bound, saying so', async () => {
    const log = new AuditLog(t.runtime.db, t.runtime.log, { maxBuffered: 3 })
    // No such organization yet: the batch's INSERT fails on its foreign key.
    const orgId = randomUUID()
    log.record(orgId, event(1))
    log.record(orgId, event(2))
    const recordedBy = new Date()
    await log.flush()
    expect(t.logs.records.some((r) => r.msg === 'audit batch not written; retrying')).toBe(true)
    log.record(orgId, event(3))
    log.record(orgId, event(4))
    expect(t.logs.records.filter((r) => r.msg === 'audit buffer full: event dropped')).toEqual([
      expect.objectContaining({ organizationId: orgId, action: 'token.issued' }),
    ])

    await new Promise((r) => setTimeout(r, 20))
    await newOrganization('audit-late', orgId)
    await log.flush()
    const rows = await t.db.sql<{
      occurred_at: Date
      actor_id: string
      user_agent: string
      ip: string
      request_id: string
      details: unknown
    }>(
      'SELECT occurred_at, actor_id, user_agent, host(ip) AS ip, request_id, details FROM audit_events WHERE organization_id = $1 ORDER BY request_id',
      [orgId],
    )
    expect(rows.map((r) => r.request_id)).toEqual(['req-1', 'req-2', 'req-3'])
    expect(rows[0]).toMatchObject({
      actor_id: 'client-1',
      ip: '10.9.0.1',
      user_agent: 'x'.repeat(512),
      details: { n: 1, scope: 'a b', nested: { ok: true } },
    })
    // Stamped when recorded, not when finally written.
    expect(rows[0]!.occurred_at.getTime()).toBeLessThanOrEqual(recordedBy.getTime())
    await log.stop()
  })
})
