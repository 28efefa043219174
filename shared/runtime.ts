/**
 * A process's long-lived parts, built once from the configuration and handed to every
 * request: the pool, the caches, metrics and the logger.
 */
import type { Config } from './config.ts'
import { Database } from './db/database.ts'
import { Metrics } from './http/metrics.ts'
import { createLogger, type Logger } from './log.ts'
import { OrganizationDirectory } from './tenancy.ts'

export interface RuntimeOptions {
  /** A logger to use instead of JSON on stdout (tests capture logs this way). */
  readonly log?: Logger
}

export class Runtime {
  readonly config: Config
  readonly log: Logger
  readonly db: Database
  readonly organizations: OrganizationDirectory
  readonly metrics: Metrics
  /** Set when SIGTERM arrives: readiness answers 503 so no new traffic is routed here. */
  draining = false

  constructor(config: Config, options: RuntimeOptions = {}) {
    this.config = config
    this.log =
      options.log ?? createLogger({ level: config.logLevel, base: { planes: config.planes.join(',') } })
    this.db = new Database({
      url: config.database.url,
      poolMax: config.database.poolMax,
      statementTimeoutMs: config.database.statementTimeoutMs,
      connectTimeoutMs: config.database.connectTimeoutMs,
      runtimeRole: config.database.runtimeRole,
      applicationName: `zenoauth-${config.planes.join('+')}`,
      onError: (err) => this.log.warn({ err }, 'idle database connection failed'),
    })
    this.organizations = new OrganizationDirectory(this.db, config.publicUrl)
    this.metrics = new Metrics(() => this.db.stats())
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}
