/**
 * Audit events of high-volume actions (token issuance, failed client authentication),
 * buffered and written in batches at least every second and on shutdown (DESIGN.md §5).
 * Changes to data write their event in their own transaction instead (insertAuditEvent).
 */
import { type AuditEvent, insertAuditEvents } from '../db/audit.ts'
import type { Database } from '../db/database.ts'
import type { Logger } from '../log.ts'

export class AuditLog {
  private buffer = new Map<string, AuditEvent[]>()
  private buffered = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> | undefined
  private readonly db: Database
  private readonly log: Logger
  private readonly flushIntervalMs: number
  private readonly maxBuffered: number

  constructor(db: Database, log: Logger, options: { flushIntervalMs?: number; maxBuffered?: number } = {}) {
    this.db = db
    this.log = log
    this.flushIntervalMs = options.flushIntervalMs ?? 1000
    this.maxBuffered = options.maxBuffered ?? 50_000
  }

  /** Queues an event; it reaches the database within the flush interval. */
  record(organizationId: string, event: AuditEvent): void {
    if (this.buffered >= this.maxBuffered) {
      // The database has been unreachable for a while: keep serving, say what is lost.
      this.log.error({ organizationId, action: event.action }, 'audit buffer full: event dropped')
      return
    }
    const list = this.buffer.get(organizationId)
    const stamped = { ...event, occurredAt: event.occurredAt ?? new Date() }
    if (list) list.push(stamped)
    else this.buffer.set(organizationId, [stamped])
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
    for (const [organizationId, events] of batches) {
      for (let i = 0; i < events.length; i += 5000) {
        const chunk = events.slice(i, i + 5000)
        try {
          await this.db.inOrganization(organizationId, (q) => insertAuditEvents(q, organizationId, chunk))
        } catch (err) {
          this.log.warn({ err, organizationId, events: chunk.length }, 'audit batch not written; retrying')
          for (const e of chunk) this.record(organizationId, e)
        }
      }
    }
  }
}
