/**
 * A process's long-lived parts, built once from the configuration and handed to every
 * request: the pool, the caches and their invalidation, the audit buffer, metrics, logs.
 */
import { AuditLog } from './audit/audit-log.ts'
import { type Change, InvalidationBus } from './cache/invalidation.ts'
import type { Config } from './config.ts'
import { setPasswordHashConcurrency } from './crypto/password.ts'
import { applicationName, type Database, openDatabase } from './db/database.ts'
import { Metrics } from './http/metrics.ts'
import { JOBS } from './jobs/jobs.ts'
import { Scheduler } from './jobs/scheduler.ts'
import { KeyStore } from './keys/key-store.ts'
import { type Logger, processLogger } from './log.ts'
import { ClientDirectory } from './oauth/clients.ts'
import { RevocationList } from './oauth/revocation-list.ts'
import { VerifiedTokenCache } from './oauth/verified-tokens.ts'
import { OrganizationDirectory } from './tenancy.ts'

export interface RuntimeOptions {
  /** A logger to use instead of JSON on stdout (tests capture logs this way). */
  readonly log?: Logger
  /** The pool, when it was opened before the runtime (serve.ts, at a cold start). */
  readonly db?: Database
}

export class Runtime {
  readonly config: Config
  readonly log: Logger
  readonly db: Database
  readonly organizations: OrganizationDirectory
  readonly metrics: Metrics
  readonly bus: InvalidationBus
  readonly keys: KeyStore
  readonly clients: ClientDirectory
  readonly revocations: RevocationList
  readonly verifiedTokens = new VerifiedTokenCache()
  readonly audit: AuditLog
  readonly scheduler: Scheduler
  /** Set when SIGTERM arrives: readiness answers 503 so no new traffic is routed here. */
  draining = false

  constructor(config: Config, options: RuntimeOptions = {}) {
    this.config = config
    setPasswordHashConcurrency(config.passwordHashConcurrency)
    this.log = options.log ?? processLogger(config)
    this.db = options.db ?? openDatabase(config, this.log)
    this.organizations = new OrganizationDirectory(this.db, config.publicUrl, config.cacheTtlMs)
    this.metrics = new Metrics(
      () => this.db.stats(),
      () => this.db.batchStats(),
    )
    this.keys = new KeyStore(this.db, config.masterKey, config.cacheTtlMs)
    this.clients = new ClientDirectory(this.db, config.cacheTtlMs)
    this.revocations = new RevocationList(this.db, config.cacheTtlMs, { log: this.log })
    this.audit = new AuditLog(this.db, this.log)
    this.scheduler = new Scheduler(this, JOBS)
    this.bus = new InvalidationBus({
      url: config.database.listenUrl,
      log: this.log,
      connectTimeoutMs: config.database.connectTimeoutMs,
      applicationName: `${applicationName(config)}-listen`,
    })
    this.bus.onChange((change) => this.applyChange(change))
    this.db.onCommit = (changes) => {
      for (const change of changes) this.applyChange(change)
    }
    this.bus.onReset(() => {
      this.organizations.invalidate()
      this.clients.clear()
      this.keys.invalidate()
      this.revocations.clear()
    })
  }

  /** Drops what a change made stale, whether this process or another one made it. */
  private applyChange(change: Change): void {
    switch (change.kind) {
      case 'organization':
        this.organizations.invalidate()
        break
      case 'application':
        this.clients.invalidate(change.organizationId, change.id)
        break
      case 'keys':
        this.keys.invalidate(change.organizationId)
        break
      case 'revocation':
        if (change.id) this.revocations.add(change.organizationId, change.id)
        else this.revocations.forget(change.organizationId)
        break
    }
  }

  /**
   * Starts the background parts: cache invalidation, the audit flush, scheduled jobs. Called
   * once the server listens, so none of it delays a cold start's first answer.
   */
  start(): void {
    void this.bus.start()
    this.audit.start()
    if (this.config.jobs) this.scheduler.start()
  }

  /** Stops jobs, flushes buffered audit events, closes the listener and the pool. */
  async close(): Promise<void> {
    await this.scheduler.stop()
    await this.audit.stop()
    await this.bus.stop()
    await this.db.close()
  }
}
