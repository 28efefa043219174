/**
 * What a function is given (HandlerContext): the organization of the request's Host, the
 * caller authenticated when the function has a scope, then its parameters, query and body,
 * parsed and validated in its dialect. Built by the pipeline (pipeline.ts) for every request,
 * over Node and in process alike.
 */
import { type AdminActor, authorizeAdmin } from '../admin/authorize.ts'
import type { Logger } from '../log.ts'
import type { RequestMeta } from '../request-scope.ts'
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

/** A request as the transport (Node or an in-process web Request) presents it. */
export interface FunctionRequest {
  readonly method: string
  /** A request header by lower-case name. */
  header(name: string): string | undefined
  /** The path parameters; asked for only when the path has some. */
  params(): Record<string, string>
  /** The query string's parameters; asked for only when the function has a query schema. */
  searchParams(): URLSearchParams
  /** Node's request, whose body is read directly; undefined in process. */
  readonly incoming: NodeJS.ReadableStream | undefined
  /** The web request, whose body is read in process. */
  readonly raw: Request | undefined
  readonly meta: RequestMeta
  /** A logger bound to the request id, made on demand. */
  log(): Logger
}

/**
 * The handler context of a request for `target`.
 * @throws HttpError 404 for path parameters no stored value can equal or that fail the
 *   function's schema; 400, 413 or 415 for a query or body it refuses (parse-request.ts).
 */
export async function functionContext(
  runtime: Runtime,
  target: Invocable,
  req: FunctionRequest,
): Promise<HandlerContext<unknown, unknown, unknown>> {
  const { fn, dialect } = target
  const org = await runtime.organizations.resolve(req.header('host'))
  // Authenticate first, then validate: nothing of the request is parsed for a caller who may
  // not call the function.
  const actor = fn.scope
    ? await authorizeAdmin(req.header('authorization'), { runtime, org, request: req.meta }, fn.scope)
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
  return new Context(body, query, params, org, runtime, req, actor)
}

/**
 * A handler's context. A class, so that `log`, made on demand, is a getter on the prototype.
 * It was an object literal with a getter of its own, and under the token load every request
 * then stayed alive until a major GC: ~2 MB promoted per scavenge and ~10 ms pauses, against
 * ~0.3 MB and ~3.5 ms now (--trace-gc-nvp). V8 gives a literal's own accessor a hidden class
 * per object, and keeps new hidden classes for a few major GCs; through the getter's closure,
 * each one held its request.
 */
class Context implements HandlerContext<unknown, unknown, unknown> {
  readonly body: unknown
  readonly query: unknown
  readonly params: unknown
  readonly method: string
  readonly org: Organization
  readonly runtime: Runtime
  readonly db: HandlerContext<unknown, unknown, unknown>['db']
  readonly request: RequestMeta
  readonly header: (name: string) => string | undefined
  readonly #req: FunctionRequest
  readonly #actor: AdminActor | undefined
  #log: Logger | undefined

  constructor(
    body: unknown,
    query: unknown,
    params: unknown,
    org: Organization,
    runtime: Runtime,
    req: FunctionRequest,
    actor: AdminActor | undefined,
  ) {
    this.#actor = actor
    this.body = body
    this.query = query
    this.params = params
    this.method = req.method
    this.org = org
    this.runtime = runtime
    this.request = req.meta
    this.header = req.header
    this.#req = req
    this.db = {
      transaction: (work, options) => runtime.db.inOrganization(org.id, work, options),
      query: (text, values) => runtime.db.statement(org.id, text, values),
      batched: (statement, item) => runtime.db.batched(org.id, statement, item),
    }
  }

  get actor(): AdminActor {
    if (!this.#actor) throw new TypeError('a function without a scope has no authenticated actor')
    return this.#actor
  }

  get log(): Logger {
    this.#log ??= this.#req.log()
    return this.#log
  }
}
