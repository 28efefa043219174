/**
 * What code below the HTTP layer may know of the request it serves: the organization, its
 * database, the runtime, a logger and what the audit trail records. Functions get it as part
 * of their context (define-function.ts); services take it, not the whole context.
 */
import type { TenantDatabase } from './db/database.ts'
import type { Logger } from './log.ts'
import type { Runtime } from './runtime.ts'
import type { Organization } from './tenancy.ts'

export interface RequestMeta {
  readonly requestId: string
  /** The client's address, after TRUST_PROXY_HOPS or TRUSTED_PROXY_CIDRS; undefined for in-process requests. */
  readonly ip: string | undefined
  readonly userAgent: string | undefined
}

export type { TenantDatabase }

export interface RequestScope {
  readonly method: string
  readonly org: Organization
  readonly db: TenantDatabase
  readonly runtime: Runtime
  readonly log: Logger
  readonly request: RequestMeta
  /** A request header by lower-case name. */
  header(name: string): string | undefined
}
