import { describe, expect, it, vi } from 'vitest'
import type { Job } from '../../shared/jobs/scheduler.ts'
import { createTestDatabase } from '../support/database.ts'
import { createTestRuntime } from '../support/runtime.ts'

describe('Scheduler', () => {
  it('runs a job in exactly one of several processes at a time (pg_try_advisory_lock)', async () => {
    const db = await createTestDatabase()
    const runtimes = await Promise.all([1, 2, 3].map(() => createTestRuntime({ db, env: { JOBS: 'false' } })))
    for (const r of runtimes)
      await vi.waitFor(() => expect(r.runtime.bus.connected).toBe(true), { timeout: 5000, interval: 20 })
    let running = 0
    let maxRunning = 0
    let runs = 0
    const job: Job = {
      name: 'test',
      lockKey: 0x7a656eff,
      intervalMs: 60_000,
      async run() {
        running++
        runs++
        maxRunning = Math.max(maxRunning, running)
        await new Promise((r) => setTimeout(r, 200))
        running--
      },
    }
    const ran = await Promise.all(runtimes.map((r) => r.runtime.scheduler.runOnce(job)))
    expect(ran.filter(Boolean)).toHaveLength(1)
    expect([runs, maxRunning]).toEqual([1, 1])
    // The lock is released afterwards: the next run may happen anywhere.
    expect(await runtimes[2]!.runtime.scheduler.runOnce(job)).toBe(true)
  })

  it('does not run a job while its lock connection is down, and logs a failing job', async () => {
    const t = await createTestRuntime({ env: { JOBS: 'false' } })
    await vi.waitFor(() => expect(t.runtime.bus.connected).toBe(true), { timeout: 5000, interval: 20 })
    const failing: Job = {
      name: 'boom',
      lockKey: 0x7a656efe,
      intervalMs: 60_000,
      run: () => Promise.reject(new Error('job broke')),
    }
    expect(await t.runtime.scheduler.runOnce(failing)).toBe(false)
    expect(t.logs.records.find((r) => r.msg === 'job failed')).toMatchObject({ job: 'boom' })
    await t.runtime.bus.stop()
    expect(await t.runtime.scheduler.runOnce({ ...failing, run: async () => {} })).toBe(false)
  })
})
