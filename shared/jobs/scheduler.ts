/**
 * Scheduled jobs. Every process ticks; exactly one runs a job at a time, the one that gets
 * the job's session advisory lock (pg_try_advisory_lock) on its direct LISTEN connection.
 */
import type { InvalidationBus } from '../cache/invalidation.ts'
import type { Config } from '../config.ts'
import type { Database } from '../db/database.ts'
import type { Logger } from '../log.ts'

/** What a job may use (the Runtime is one). */
export interface JobContext {
  readonly db: Database
  readonly config: Pick<Config, 'masterKey' | 'keyRotationPeriodMs'>
  readonly log: Logger
  readonly bus: Pick<InvalidationBus, 'withSessionLock'>
}

export interface Job {
  readonly name: string
  /** Advisory lock key: one per job. */
  readonly lockKey: number
  readonly intervalMs: number
  run(context: JobContext): Promise<void>
}

export class Scheduler {
  private readonly runtime: JobContext
  private readonly jobs: readonly Job[]
  private readonly timers: NodeJS.Timeout[] = []
  private readonly running = new Set<Promise<unknown>>()

  constructor(runtime: JobContext, jobs: readonly Job[]) {
    this.runtime = runtime
    this.jobs = jobs
  }

  start(): void {
    for (const job of this.jobs) {
      // Jitter spreads the processes of a fleet over the interval.
      const tick = () => {
        const run = this.runOnce(job)
        this.running.add(run)
        void run.finally(() => this.running.delete(run))
        const timer = setTimeout(tick, job.intervalMs * (0.9 + Math.random() * 0.2))
        timer.unref()
        this.timers.push(timer)
      }
      const first = setTimeout(tick, Math.min(job.intervalMs, 10_000) * (0.5 + Math.random() * 0.5))
      first.unref()
      this.timers.push(first)
    }
  }

  /** Runs a job now if no other process is running it; resolves to whether it ran. */
  async runOnce(job: Job): Promise<boolean> {
    const { log } = this.runtime
    try {
      return await this.runtime.bus.withSessionLock(job.lockKey, async () => {
        const started = performance.now()
        await job.run(this.runtime)
        log.debug({ job: job.name, ms: Math.round(performance.now() - started) }, 'job done')
      })
    } catch (err) {
      log.error({ err, job: job.name }, 'job failed')
      return false
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t)
    await Promise.allSettled([...this.running])
  }
}
