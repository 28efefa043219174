/**
 * The function contract (DESIGN.md §2, docs/writing-a-function.md): every endpoint is one
 * module whose default export is `defineFunction({ plane, method, path, …, answer })`, and
 * `answer(ctx)` returns a Reply (reply.ts): data, never a framework's response. The plane,
 * method and path are literals so build.mjs can read them statically into the route table.
 */
import type * as z from 'zod'
import type { AdminActor } from '../admin/authorize.ts'
import type { AdminScope } from '../admin-scopes.ts'
import type { Plane } from '../planes.ts'
import type { RequestScope } from '../request-scope.ts'
import type { BodyType } from './parse-request.ts'
import type { Reply } from './reply.ts'
import type { ErrorDialect } from './serialize-error.ts'

export type { RequestMeta, RequestScope, TenantDatabase } from '../request-scope.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/** What `answer` is given: the request's scope and its parsed, validated parts. */
export interface HandlerContext<B, Q, P> extends RequestScope {
  readonly body: B
  readonly query: Q
  readonly params: P
  /**
   * The admin API caller, authenticated by the pipeline before anything of the request was
   * parsed (the function's `scope`). Reading it in a function without a scope is a bug.
   * @throws TypeError when the function declares no scope.
   */
  readonly actor: AdminActor
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
  /** Answers a request: what it returns is written as it is; what it throws, by the serializer. */
  readonly answer: (ctx: HandlerContext<Output<B>, Output<Q>, ParamsOutput<P>>) => Reply | Promise<Reply>
}

// biome-ignore lint/suspicious/noExplicitAny: the route table holds functions of every shape.
export type AnyFunction = FunctionDefinition<any, any, any>

export function defineFunction<
  B extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  P extends z.ZodType | undefined = undefined,
>(definition: FunctionDefinition<B, Q, P>): FunctionDefinition<B, Q, P> {
  if (typeof definition.answer !== 'function')
    throw new TypeError(`${definition.path}: a function declares an answer(ctx)`)
  return definition
}

/** One row of functions/routes.gen.ts. */
export interface RouteEntry {
  readonly plane: Plane
  readonly methods: readonly HttpMethod[]
  readonly path: string
  readonly file: string
  readonly fn: AnyFunction
}
