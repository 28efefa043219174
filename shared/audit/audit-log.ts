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
import { sqlStateClass } from '../db/sqlstate.ts'
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
          // A value PostgreSQL refuses (SQLSTATE class 22) fails every retry of the batch that
          // carries it, and with it every other event of the organization: the events go one
          // by one instead, and only one refused on its own is dropped, saying so.
          if (sqlStateClass(err) === '22') {
            if (!(await this.writeOneByOne(organizationId, chunk))) failed = true
            continue
          }
          failed = true
          this.log.warn({ err, organizationId, events: chunk.length }, 'audit batch not written; retrying')
          this.keep(organizationId, chunk)
        }
      }
    }
    this.failing = failed
  }

  /**
   * Writes `events` one at a time, dropping those PostgreSQL refuses as data (logged); false
   * when a write failed otherwise (the database is gone, say), and then that event and the
   * ones after it go back to the buffer, as a failed batch's do.
   */
  private async writeOneByOne(organizationId: string, events: readonly string[]): Promise<boolean> {
    for (const [i, event] of events.entries()) {
      try {
        await this.db.inOrganization(organizationId, (q) => insertAuditEvents(q, organizationId, [event]))
      } catch (err) {
        if (sqlStateClass(err) !== '22') {
          this.log.warn(
            { err, organizationId, events: events.length - i },
            'audit batch not written; retrying',
          )
          this.keep(organizationId, events.slice(i))
          return false
        }
        const { action, request_id: requestId } = JSON.parse(event) as {
          action: string
          request_id: string | null
        }
        this.log.error(
          { err, organizationId, action, requestId },
          'audit event refused by the database: dropped',
        )
      }
    }
    return true
  }

  /** Puts events of a failed write back in the buffer, as many as it has room for. */
  private keep(organizationId: string, events: readonly string[]): void {
    const room = Math.max(0, this.maxBuffered - this.buffered)
    for (const e of events.slice(0, room)) this.push(organizationId, e)
    if (events.length > room)
      this.log.error({ organizationId, events: events.length - room }, 'audit buffer full: events dropped')
  }
}
