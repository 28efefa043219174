/**
 * Cluster-wide cache invalidation without Redis (DESIGN.md §6): a change sends NOTIFY in the
 * transaction that makes it; every process LISTENs on one direct (not pooled) connection and
 * drops the entry. While that connection is down, the caches' TTLs bound staleness; after it
 * comes back every cache is cleared, since notifications may have been missed.
 */
import pg from 'pg'
import type { Change, ChangeKind, Queryable } from '../db/database.ts'
import type { Logger } from '../log.ts'

export const INVALIDATION_CHANNEL = 'zenoauth_invalidate'

export type { Change, ChangeKind }

/**
 * Announces a change when the surrounding transaction commits: to this process at once, to
 * every process through NOTIFY (which is transactional too). A rolled-back change is never
 * announced.
 */
export async function notifyChange(
  q: Queryable,
  kind: ChangeKind,
  organizationId: string,
  id?: string,
): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [
    INVALIDATION_CHANNEL,
    [kind, organizationId, id ?? ''].join(' '),
  ])
  // Applied to this process's own caches the moment the transaction commits (Database),
  // before the NOTIFY comes back.
  q.announce?.({ kind, organizationId, id })
}

function parseChange(payload: string | undefined): Change | undefined {
  const [kind, organizationId, id] = (payload ?? '').split(' ')
  if (!kind || !organizationId) return undefined
  return { kind: kind as ChangeKind, organizationId, id: id || undefined }
}

export interface InvalidationBusOptions {
  readonly url: string
  readonly log: Logger
  readonly connectTimeoutMs: number
  readonly applicationName: string
}

export class InvalidationBus {
  private readonly options: InvalidationBusOptions
  private readonly listeners = new Set<(change: Change) => void>()
  private readonly resetListeners = new Set<() => void>()
  private client: pg.Client | undefined
  private stopped = false
  private retryMs = 250
  private timer: NodeJS.Timeout | undefined
  private connecting: Promise<void> | undefined
  /** The connection being opened, until it is open or has failed. */
  private pending: pg.Client | undefined

  constructor(options: InvalidationBusOptions) {
    this.options = options
  }

  /** Whether notifications are flowing now. */
  get connected(): boolean {
    return this.client !== undefined
  }

  onChange(listener: (change: Change) => void): void {
    this.listeners.add(listener)
  }

  /** Called whenever notifications may have been missed: caches must drop everything. */
  onReset(listener: () => void): void {
    this.resetListeners.add(listener)
  }

  /** Connects in the background, and reconnects with backoff for as long as it runs. */
  start(): Promise<void> {
    this.connecting ??= this.connect()
    return this.connecting
  }

  /**
   * Runs `fn` when this process holds the session advisory lock `key` on the listening
   * connection (a direct one, so the lock is a real session lock even behind PgBouncer);
   * resolves to false without running it when another process holds it or the connection
   * is down. The lock goes with the connection if the process dies.
   */
  async withSessionLock(key: number, fn: () => Promise<void>): Promise<boolean> {
    const client = this.client
    if (!client) return false
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      key,
    ])
    if (!rows[0]?.locked) return false
    try {
      await fn()
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined)
    }
    return true
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    const client = this.client
    this.client = undefined
    // A connection still being opened is ended too: it would otherwise finish (or fail, with
    // the database stopping right after us) once the process is meant to be done.
    const pending = this.pending
    this.pending = undefined
    await Promise.all([client?.end().catch(() => undefined), pending?.end().catch(() => undefined)])
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    const { log } = this.options
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      application_name: this.options.applicationName,
    })
    client.on('notification', (message) => {
      const change = parseChange(message.payload)
      if (!change) return
      for (const listener of this.listeners) listener(change)
    })
    client.on('error', (err) => {
      if (!this.stopped) log.warn({ err }, 'invalidation connection failed')
    })
    client.on('end', () => {
      if (this.client !== client) return
      this.client = undefined
      if (!this.stopped) {
        log.warn('invalidation connection lost: caches fall back to their TTL until it is back')
        this.scheduleReconnect()
      }
    })
    this.pending = client
    try {
      await client.connect()
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`)
    } catch (err) {
      if (this.pending === client) this.pending = undefined
      if (this.stopped) return
      log.warn({ err }, 'cannot LISTEN for cache invalidation; retrying')
      await client.end().catch(() => undefined)
      this.scheduleReconnect()
      return
    }
    if (this.pending === client) this.pending = undefined
    if (this.stopped) {
      await client.end().catch(() => undefined)
      return
    }
    this.client = client
    this.retryMs = 250
    for (const listener of this.resetListeners) listener()
  }

  private scheduleReconnect(): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.connecting = this.connect()
    }, this.retryMs)
    this.timer.unref()
    this.retryMs = Math.min(this.retryMs * 2, 10_000)
  }
}
