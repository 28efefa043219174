/**
 * Audit events of high-volume actions (token issuance, failed client authentication),
 * buffered and written in batches at least every second and on shutdown (DESIGN.md §5).
 * Changes to data write their event in their own transaction instead (insertAuditEvent).
 *
 * Under load, events that wait long enough to outlive two scavenges (~200 ms at 3,000 tokens/s)
 * are promoted to the old generation and pile up there until a major GC: a second's worth of
 * events, buffered as objects, added ~20 MB to the process's peak RSS. So each event waits as
 * one string (encodeAuditEvent), and a started log also writes as soon as `batchSize` events
 * are waiting, so that under load they are written while still young.
 */
import { type AuditEvent, encodeAuditEvent, insertAuditEvents } from '../db/audit.ts'
import type { Database } from '../db/database.ts'
import type { Logger } from '../log.ts'

export class AuditLog {
  private buffer = new Map<string, string[]>()
  private buffered = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  /** The last write failed: until one succeeds, only the interval retries (no retry storm). */
  private failing = false
  private readonly db: Database
  private readonly log: Logger
  private readonly flushIntervalMs: number
  private readonly maxBuffered: number
  private readonly batchSize: number

  constructor(
    db: Database,
    log: Logger,
    options: { flushIntervalMs?: number; maxBuffered?: number; batchSize?: number } = {},
  ) {
    this.db = db
    this.log = log
    this.flushIntervalMs = options.flushIntervalMs ?? 1000
    this.maxBuffered = options.maxBuffered ?? 50_000
    this.batchSize = options.batchSize ?? 250
  }

  /** Queues an event; it reaches the database within the flush interval. */
  record(organizationId: string, event: AuditEvent): void {
    if (this.buffered >= this.maxBuffered) {
      // The database has been unreachable for a while: keep serving, say what is lost.
      this.log.error({ organizationId, action: event.action }, 'audit buffer full: event dropped')
      return
    }
    this.push(organizationId, encodeAuditEvent(event))
    // Only once started: a stopped log (tests, shutdown) writes when told to.
    if (this.buffered >= this.batchSize && this.timer && !this.failing) void this.flush()
  }

  private push(organizationId: string, encoded: string): void {
    const list = this.buffer.get(organizationId)
    if (list) list.push(encoded)
    else this.buffer.set(organizationId, [encoded])
    this.buffered++
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushIntervalMs)
    this.timer.unref()
  }

  /** Writes everything buffered; events of a batch that fails go back to the buffer. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flushing
    await this.flush()
  }

  private async write(): Promise<void> {
    if (this.buffered === 0) return
    const batches = this.buffer
    this.buffer = new Map()
    this.buffered = 0
    let failed = false
    for (const [organizationId, events] of batches) {
      for (let i = 0; i < events.length; i += 5000) {
        const chunk = events.slice(i, i + 5000)
        try {
          await this.db.inOrganization(organizationId, (q) => insertAuditEvents(q, organizationId, chunk))
        } catch (err) {
          failed = true
          this.log.warn({ err, organizationId, events: chunk.length }, 'audit batch not written; retrying')
          const room = Math.max(0, this.maxBuffered - this.buffered)
          for (const e of chunk.slice(0, room)) this.push(organizationId, e)
          if (chunk.length > room)
            this.log.error(
              { organizationId, events: chunk.length - room },
              'audit buffer full: events dropped',
            )
        }
      }
    }
    this.failing = failed
  }
}
