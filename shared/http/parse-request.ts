/**
 * Request parsing for function routes: the body read under the size limit, form and JSON
 * decoding, and zod validation whose failures become errors in the route's dialect.
 */
import type * as z from 'zod'
import {
  clientClosedRequest,
  HttpError,
  malformedBody,
  OAuthError,
  ProblemError,
  payloadTooLarge,
  ScimError,
  unsupportedMediaType,
} from './errors.ts'
import type { ErrorDialect } from './serialize-error.ts'

export type BodyType = 'form' | 'json'

const MEDIA_TYPES: Record<BodyType, readonly string[]> = {
  form: ['application/x-www-form-urlencoded'],
  json: ['application/json', 'application/scim+json'],
}

/**
 * Reads the whole body as text, refusing more than `limit` bytes whether or not the client
 * announced a Content-Length. Behind @hono/node-server it reads Node's IncomingMessage
 * directly: touching `Request.body` there builds an undici Request and a web stream per
 * request, which cost the token endpoint most of its throughput.
 * @throws HttpError 413 past the limit; 499 when the client closes the connection before
 *   the body has arrived.
 */
export async function readBody(
  request: Request | undefined,
  contentLength: string | undefined,
  limit: number,
  incoming?: NodeJS.ReadableStream,
): Promise<string> {
  const announced = Number(contentLength ?? '0')
  if (announced > limit) throw payloadTooLarge(limit)
  if (incoming) return readStream(incoming, limit)
  if (!request?.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength
      if (size > limit) throw payloadTooLarge(limit)
      chunks.push(chunk)
    }
  } catch (err) {
    throw err instanceof HttpError ? err : clientClosedRequest()
  }
  return Buffer.concat(chunks).toString('utf8')
}

// Events rather than the stream's async iterator, whose machinery costs more than the
// read itself on small bodies.
function readStream(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        cleanup()
        // Past the limit the rest is not read; the connection is closed after the answer.
        reject(payloadTooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      cleanup()
      resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8'))
    }
    // A request stream fails only when its connection does ('aborted', ECONNRESET): the
    // client's doing. A close before the end, without an error, is the same.
    const onGone = () => {
      cleanup()
      reject(clientClosedRequest())
    }
    const cleanup = () => {
      stream.off('data', onData)
      stream.off('end', onEnd)
      stream.off('error', onGone)
      stream.off('close', onGone)
    }
    stream.on('data', onData)
    stream.on('end', onEnd)
    stream.on('error', onGone)
    stream.on('close', onGone)
  })
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaTypeOf(contentType: string | undefined | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase()
}

/**
 * Decodes the body as `type`.
 * @throws HttpError 415 for another media type, 400 for malformed JSON, JSON nested too deeply
 *   or a string in it that cannot be stored (see {@link jsonProblem}).
 */
export function decodeBody(
  text: string,
  contentType: string | undefined,
  type: BodyType,
  schema: z.ZodType,
  dialect: ErrorDialect,
): unknown {
  const media = mediaTypeOf(contentType)
  // An empty body is an empty object, whatever it claims to be: required fields are then
  // named one by one, which says more than "the body is empty".
  if (text.trim() === '') return {}
  if (!MEDIA_TYPES[type].includes(media)) throw unsupportedMediaType(MEDIA_TYPES[type])
  if (type === 'form') return decodeParameters(new URLSearchParams(text), schema, dialect)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw malformedBody('The request body is not valid JSON.')
  }
  const bad = jsonProblem(value)
  if (bad) {
    throw validationError(dialect, `\`${formatPath(bad.path) || '(body)'}\` ${bad.reason}`, [
      { path: bad.path, message: bad.reason },
    ])
  }
  return value
}

/**
 * Why a request string cannot be stored as it is, or undefined when it can. PostgreSQL's
 * `text` holds no NUL character (a statement carrying one fails), and a lone UTF-16
 * surrogate (a JSON escape such as `\ud800`) would reach the database as U+FFFD: one would
 * be a server error, the other a value silently changed. Both are refused up front.
 */
export function unstorable(value: string): string | undefined {
  if (value.includes('\0')) return 'must not contain a NUL character'
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no lone surrogate)'
  return undefined
}

/** How deep a JSON body or parameter may nest: deeper is refused, not walked or stored. */
export const MAX_JSON_DEPTH = 32

interface Frame {
  readonly value: unknown
  readonly depth: number
  readonly parent?: Frame
  readonly key?: PropertyKey
}

/**
 * The first place in a parsed JSON value, in document order, that cannot be stored: a string
 * (key or value) `unstorable` refuses, or an object or array nested deeper than
 * {@link MAX_JSON_DEPTH}. Walked with a stack of its own, so no nesting can overflow the call
 * stack, and the path is built only for the answer.
 */
export function jsonProblem(root: unknown): { path: PropertyKey[]; reason: string } | undefined {
  const stack: Frame[] = [{ value: root, depth: 0 }]
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    const { value, depth } = frame
    if (typeof value === 'string') {
      const reason = unstorable(value)
      if (reason) return { path: pathOf(frame), reason }
      continue
    }
    if (value === null || typeof value !== 'object') continue
    if (depth >= MAX_JSON_DEPTH)
      return { path: pathOf(frame), reason: `nests deeper than ${MAX_JSON_DEPTH} levels` }
    const entries: [PropertyKey, unknown][] = Array.isArray(value)
      ? value.map((item, i) => [i, item])
      : Object.entries(value)
    for (const [key] of entries) {
      const reason = typeof key === 'string' ? unstorable(key) : undefined
      if (reason) return { path: pathOf(frame), reason: `has a field name that ${reason}` }
    }
    for (let i = entries.length - 1; i >= 0; i--) {
      const [key, item] = entries[i]!
      stack.push({ value: item, depth: depth + 1, parent: frame, key })
    }
  }
  return undefined
}

function pathOf(frame: Frame): PropertyKey[] {
  const path: PropertyKey[] = []
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) path.push(f.key!)
  return path.reverse()
}

/**
 * Turns form or query parameters into an object for `schema`. RFC 6749 §3.1: parameters
 * without a value are treated as omitted, and none may appear more than once, except those
 * the schema declares as arrays (RFC 8707 `resource`, for instance).
 * @throws HttpError 400 naming a repeated parameter or one that cannot be stored.
 */
export function decodeParameters(
  params: URLSearchParams,
  schema: z.ZodType | undefined,
  dialect: ErrorDialect,
) {
  const out: Record<string, string | string[]> = {}
  for (const [key, value] of params) {
    const keyReason = unstorable(key)
    if (keyReason) {
      throw validationError(dialect, `a parameter name ${keyReason}`, [{ path: [], message: keyReason }])
    }
    if (value === '') continue
    const reason = unstorable(value)
    if (reason) throw validationError(dialect, `\`${key}\` ${reason}`, [{ path: [key], message: reason }])
    if (schema && isArrayField(schema, key)) {
      const list = (out[key] as string[] | undefined) ?? []
      list.push(value)
      out[key] = list
    } else if (key in out) {
      throw validationError(dialect, `\`${key}\` must not appear more than once`, [
        { path: [key], message: 'duplicate' },
      ])
    } else {
      out[key] = value
    }
  }
  return out
}

/**
 * Validates `input` with `schema`.
 * @throws HttpError 400 in the route's dialect, its description naming the first bad field.
 */
export function validate<S extends z.ZodType>(schema: S, input: unknown, dialect: ErrorDialect): z.output<S> {
  let result: z.ZodSafeParseResult<z.output<S>>
  try {
    result = schema.safeParse(input) as z.ZodSafeParseResult<z.output<S>>
  } catch (err) {
    // A refinement that throws is a bug of the schema's, but the value that made it throw
    // came with the request: the client gets a 400, and the throw is reported as the defect.
    throw Object.assign(validationError(dialect, 'a value in the request is not valid', []), { defect: err })
  }
  if (result.success) return result.data
  const issues = result.error.issues
  throw validationError(dialect, describeIssue(issues[0]!, input), issues)
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const name = formatPath(issue.path)
  if (issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined) {
    return name ? `\`${name}\` is required` : 'a value is required'
  }
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')}`
  }
  return name ? `\`${name}\` ${lowerFirst(issue.message)}` : lowerFirst(issue.message)
}

function validationError(
  dialect: ErrorDialect,
  description: string,
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): HttpError {
  switch (dialect) {
    case 'oauth':
      return new OAuthError('invalid_request', description)
    case 'scim':
      return new ScimError(400, description, 'invalidValue')
    case 'html':
      return new HttpError(400, 'invalid_request', description)
    case 'problem':
      return new ProblemError(400, 'validation_failed', description, {
        title: 'Invalid request',
        extensions: {
          errors: issues.map((i) => ({
            pointer: `/${i.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`,
            detail: i.message,
          })),
        },
      })
  }
}

/** A path into a value as `a.b[0].c`, for error messages. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  )
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<PropertyKey, unknown>)[p]
  }
  return v
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1)
}

/** Whether `key` of an object schema is an array (possibly optional or defaulted). */
function isArrayField(schema: z.ZodType, key: string): boolean {
  const shape = (unwrap(schema) as { shape?: Record<string, z.ZodType> }).shape
  const field = shape?.[key]
  return field !== undefined && unwrap(field).def.type === 'array'
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema
  for (;;) {
    const def = s.def as { type: string; innerType?: z.ZodType; in?: z.ZodType }
    if (def.innerType) s = def.innerType
    else if (def.type === 'pipe' && def.in) s = def.in
    else return s
  }
}
