/**
 * What a function is given (HandlerContext): the organization of the request's Host, the
 * caller authenticated when the function has a scope, then its parameters, query and body,
 * parsed and validated in its dialect. Built by the pipeline (pipeline.ts) for every request,
 * over Node and in process alike.
 */
import { type AdminActor, authorizeAdmin } from '../admin/authorize.ts'
import type { Logger } from '../log.ts'
import type { RequestMeta, TenantDatabase } from '../request-scope.ts'
import type { Runtime } from '../runtime.ts'
import type { Organization } from '../tenancy.ts'
import type { AnyFunction, HandlerContext } from './define-function.ts'
import { notFound } from './errors.ts'
import {
  type BodyType,
  decodeBody,
  decodeParameters,
  readBody,
  unstorable,
  validate,
} from './parse-request.ts'
import type { RequestStart, TransportRequest } from './pipeline.ts'
import { dialectOfPath, type ErrorDialect } from './serialize-error.ts'

const BODYLESS = new Set(['GET', 'HEAD', 'DELETE'])

/** A function with what its invocations share, worked out once. */
export interface Invocable {
  readonly fn: AnyFunction
  readonly dialect: ErrorDialect
  readonly bodyType: BodyType
  readonly hasParams: boolean
}

export function invocable(fn: AnyFunction): Invocable {
  const dialect = fn.errors ?? dialectOfPath(fn.path)
  return {
    fn,
    dialect,
    bodyType: fn.bodyType ?? (dialect === 'oauth' ? 'form' : 'json'),
    hasParams: fn.path.includes(':'),
  }
}

/**
 * The handler context of a request for `target`.
 * @throws HttpError 404 for path parameters no stored value can equal or that fail the
 *   function's schema; 400, 413 or 415 for a query or body it refuses (parse-request.ts).
 */
export async function functionContext(
  runtime: Runtime,
  target: Invocable,
  req: TransportRequest,
  start: RequestStart,
): Promise<HandlerContext<unknown, unknown, unknown>> {
  const { fn, dialect } = target
  const org = await runtime.organizations.resolve(req.header('host'))
  // Authenticate first, then validate: nothing of the request is parsed for a caller who may
  // not call the function.
  const actor = fn.scope
    ? await authorizeAdmin(req.header('authorization'), { runtime, org, request: start.meta }, fn.scope)
    : undefined
  let params: unknown = target.hasParams ? req.params() : {}
  // A path segment no stored value can equal (a NUL, a lone surrogate) names nothing.
  if (target.hasParams && Object.values(params as Record<string, string>).some((v) => unstorable(v))) {
    throw notFound()
  }
  if (fn.params) {
    const parsed = fn.params.safeParse(params)
    if (!parsed.success) throw notFound()
    params = parsed.data
  }
  const query = fn.query
    ? validate(fn.query, decodeParameters(req.searchParams(), fn.query, dialect), dialect)
    : undefined
  let body: unknown
  if (fn.body && !BODYLESS.has(req.method)) {
    const text = await readBody(
      req.raw,
      req.header('content-length'),
      runtime.config.bodyLimitBytes,
      req.incoming,
    )
    body = validate(
      fn.body,
      decodeBody(text, req.header('content-type'), target.bodyType, fn.body, dialect),
      dialect,
    )
  }
  return new Context(body, query, params, org, runtime, req, start, actor)
}

/**
 * A handler's context. A class, so that what is made on demand (the logger, the request meta,
 * the tenant database) is a getter on the prototype: an object literal's own accessor gives
 * every context a hidden class of its own, which V8 keeps for a few major GCs with the whole
 * request behind it (docs/benchmarks.md).
 */
class Context implements HandlerContext<unknown, unknown, unknown> {
  readonly body: unknown
  readonly query: unknown
  readonly params: unknown
  readonly method: string
  readonly org: Organization
  readonly runtime: Runtime
  readonly #req: TransportRequest
  readonly #start: RequestStart
  readonly #actor: AdminActor | undefined
  #db: TenantDatabase | undefined

  constructor(
    body: unknown,
    query: unknown,
    params: unknown,
    org: Organization,
    runtime: Runtime,
    req: TransportRequest,
    start: RequestStart,
    actor: AdminActor | undefined,
  ) {
    this.body = body
    this.query = query
    this.params = params
    this.method = req.method
    this.org = org
    this.runtime = runtime
    this.#req = req
    this.#start = start
    this.#actor = actor
  }

  header(name: string): string | undefined {
    return this.#req.header(name)
  }

  get request(): RequestMeta {
    return this.#start.meta
  }

  get db(): TenantDatabase {
    if (!this.#db) {
      const { runtime, org } = this
      this.#db = {
        transaction: (work, options) => runtime.db.inOrganization(org.id, work, options),
        query: (text, values) => runtime.db.statement(org.id, text, values),
        batched: (statement, item) => runtime.db.batched(org.id, statement, item),
      }
    }
    return this.#db
  }

  get actor(): AdminActor {
    if (!this.#actor) throw new TypeError('a function without a scope has no authenticated actor')
    return this.#actor
  }

  get log(): Logger {
    return this.#start.log()
  }
}
