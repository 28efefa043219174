/**
 * The function contract (DESIGN.md §2): every endpoint is one module whose default export is
 * `defineFunction({...})`. The plane, method and path are literals so build.mjs can read
 * them statically into the route table.
 */
import type { Context } from 'hono'
import type * as z from 'zod'
import type { AdminActor } from '../admin/authorize.ts'
import type { AdminScope } from '../admin-scopes.ts'
import type { BatchedStatement } from '../db/batch.ts'
import type { Queryable, TransactionOptions } from '../db/database.ts'
import type { Logger } from '../log.ts'
import type { Plane } from '../planes.ts'
import type { Runtime } from '../runtime.ts'
import type { Organization } from '../tenancy.ts'
import { answerDocument, type RenderDocument } from './documents.ts'
import { requestHeader } from './headers.ts'
import type { BodyType } from './parse-request.ts'
import { type Answer, responseOf } from './reply.ts'
import type { ErrorDialect } from './serialize-error.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

export interface RequestMeta {
  readonly requestId: string
  /** The client's address, after TRUST_PROXY_HOPS or TRUSTED_PROXY_CIDRS; undefined for in-process requests. */
  readonly ip: string | undefined
  readonly userAgent: string | undefined
}

/**
 * The tenant's database: every transaction is scoped to the request's organization. As a
 * Queryable itself, each `query` is one statement in its own transaction and one round trip
 * (Database.statement): for work that is a single statement.
 */
export interface TenantDatabase extends Queryable {
  transaction<T>(fn: (q: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>
  /** `item`'s share of a statement run for many requests at once (Database.batched). */
  batched<I, O>(statement: BatchedStatement<I, O>, item: I): Promise<O>
}

export interface HandlerContext<B, Q, P> {
  readonly body: B
  readonly query: Q
  readonly params: P
  readonly org: Organization
  readonly db: TenantDatabase
  readonly runtime: Runtime
  readonly log: Logger
  readonly request: RequestMeta
  /**
   * The admin API caller, authenticated by the pipeline before anything of the request was
   * parsed (the function's `scope`). Reading it in a function without a scope is a bug.
   * @throws TypeError when the function declares no scope.
   */
  readonly actor: AdminActor
  /** A request header by lower-case name (cheaper than c.req.header under Node). */
  header(name: string): string | undefined
}

type Output<S> = S extends z.ZodType ? z.output<S> : undefined
type ParamsOutput<S> = S extends z.ZodType ? z.output<S> : Record<string, string>

export interface FunctionDefinition<
  B extends z.ZodType | undefined = z.ZodType | undefined,
  Q extends z.ZodType | undefined = z.ZodType | undefined,
  P extends z.ZodType | undefined = z.ZodType | undefined,
> {
  readonly plane: Plane
  readonly method: HttpMethod | readonly HttpMethod[]
  readonly path: string
  /**
   * The admin scope the caller's bearer token must carry (admin and PIM APIs). The pipeline
   * authenticates the caller before it reads the path, query or body: an anonymous caller
   * learns nothing of the validation rules (401), a weak token gets 403 (RFC 6750 §3.1).
   */
  readonly scope?: AdminScope
  /** Schema of the request body; a body that fails it is answered 400 in the route's dialect. */
  readonly body?: B
  /** How the body is encoded; OAuth endpoints default to form, the others to JSON. */
  readonly bodyType?: BodyType
  readonly query?: Q
  /** Schema of the path parameters; a path that fails it is answered 404. */
  readonly params?: P
  /** For the admin API's OpenAPI document: what the endpoint does and answers. */
  readonly docs?: {
    readonly summary: string
    readonly responses: Readonly<
      Record<number, { readonly description: string; readonly schema?: z.ZodType }>
    >
  }
  /** Error dialect; by default from the path (see dialectOfPath). */
  readonly errors?: ErrorDialect
  readonly handler: (
    c: Context,
    ctx: HandlerContext<Output<B>, Output<Q>, ParamsOutput<P>>,
  ) => Response | Promise<Response>
  /** Set when the function is a public document (documents.ts); `handler` then answers it. */
  readonly document?: RenderDocument
  /** Set when the function answers from its context alone (see AnswerDefinition); `handler` then calls it. */
  readonly answer?: (ctx: HandlerContext<Output<B>, Output<Q>, ParamsOutput<P>>) => Answer | Promise<Answer>
}

/**
 * A public document (documents.ts): a GET whose answer depends only on the organization and
 * cached state. `document` renders it; the handler is made from it.
 */
export interface DocumentDefinition {
  readonly plane: Plane
  readonly method: 'GET'
  readonly path: string
  readonly errors?: ErrorDialect
  readonly document: RenderDocument
}

/**
 * A function that needs nothing of Hono's context: it answers from its handler context alone
 * with a plain Answer. Over Node's HTTP server a request for exactly its method and path is
 * served before Hono (direct.ts), skipping the routed request's machinery, which is most of
 * what the hottest endpoints (token, introspection) cost; in process, and for anything else
 * (a query string, another method), the app calls the same `answer`. Its path has no
 * parameters.
 */
export interface AnswerDefinition<B extends z.ZodType | undefined, Q extends z.ZodType | undefined>
  extends Pick<
    FunctionDefinition<B, Q>,
    'plane' | 'method' | 'path' | 'scope' | 'body' | 'bodyType' | 'query' | 'docs' | 'errors'
  > {
  readonly answer: (
    ctx: HandlerContext<Output<B>, Output<Q>, Record<string, never>>,
  ) => Answer | Promise<Answer>
}

// biome-ignore lint/suspicious/noExplicitAny: the route table holds functions of every shape.
export type AnyFunction = FunctionDefinition<any, any, any>

export function defineFunction(definition: DocumentDefinition): FunctionDefinition
export function defineFunction<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
>(
  definition: AnswerDefinition<B, Q> & { readonly handler?: never; readonly document?: never },
): FunctionDefinition<B, Q>
export function defineFunction<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
>(definition: FunctionDefinition<B, Q, P> & { readonly document?: never }): FunctionDefinition<B, Q, P>
export function defineFunction(
  // biome-ignore lint/suspicious/noExplicitAny: the implementation takes every shape.
  definition: DocumentDefinition | AnswerDefinition<any, any> | AnyFunction,
): AnyFunction {
  const declared = (['handler', 'document', 'answer'] as const).filter(
    (key) => key in definition && definition[key as keyof typeof definition] !== undefined,
  )
  if (declared.length !== 1)
    throw new TypeError(`${definition.path}: a function declares one of a handler, a document or an answer`)
  if ('answer' in definition && definition.answer) {
    if (definition.path.includes(':'))
      throw new TypeError(`${definition.path}: a function with an answer has no path parameters`)
    const answer = definition.answer
    return { ...definition, handler: async (_c, ctx) => responseOf(await answer(ctx as never)) }
  }
  if (!('document' in definition && definition.document)) return definition as AnyFunction
  const render = definition.document
  return {
    ...definition,
    handler: async (c, ctx) =>
      responseOf(answerDocument(await render(ctx), requestHeader(c, 'if-none-match'))),
  }
}

/** One row of functions/routes.gen.ts. */
export interface RouteEntry {
  readonly plane: Plane
  readonly methods: readonly HttpMethod[]
  readonly path: string
  readonly file: string
  readonly fn: AnyFunction
}
