/**
 * Public documents: GET endpoints whose answer depends only on the organization and on what
 * the process caches for it (discovery metadata, the JWKS), never on who asks. A function
 * answers one with `answer: serveDocument(render)`: it is rendered once per cached state,
 * carries a strong ETag and answers a matching If-None-Match with 304.
 */
import { createHash } from 'node:crypto'
import type { Reply } from './reply.ts'

export interface PublicDocument {
  readonly body: string
  /** A strong validator (RFC 9110 §8.8.3), quoted. */
  readonly etag: string
  readonly contentType: string
  readonly cacheControl: string
}

/**
 * Renders the document of a request's organization (`C` is what it reads of the request
 * scope); expected to return the same object while nothing changed.
 */
export type RenderDocument<C> = (ctx: C) => Promise<PublicDocument>

/** A JSON document with its ETag, cacheable by anyone for `maxAgeSeconds`. */
export function jsonDocument(body: string, maxAgeSeconds: number): PublicDocument {
  return {
    body,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    contentType: 'application/json',
    cacheControl: `public, max-age=${maxAgeSeconds}`,
  }
}

/**
 * Whether an If-None-Match header matches `etag` (RFC 9110 §13.1.2): `*`, or a list of entity
 * tags one of which matches with the weak comparison.
 */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false
  if (header === etag) return true
  const weak = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag)
  return header.split(',').some((tag) => {
    const t = tag.trim()
    return t === '*' || weak(t) === etag
  })
}

/** What answers `doc` to a request that sent `ifNoneMatch`. */
export function answerDocument(doc: PublicDocument, ifNoneMatch: string | undefined): Reply {
  const headers = { 'cache-control': doc.cacheControl, etag: doc.etag, 'content-type': doc.contentType }
  // A 304 carries what the 200 would (RFC 9110 §15.4.5), the content type included, which
  // @hono/node-server would otherwise fill in as text/plain.
  return noneMatch(ifNoneMatch, doc.etag)
    ? { status: 304, body: null, headers }
    : { status: 200, body: doc.body, headers }
}

/** The `answer` of a function that serves the document `render` makes. */
export function serveDocument<C extends { header(name: string): string | undefined }>(
  render: RenderDocument<C>,
): (ctx: C) => Promise<Reply> {
  return async (ctx) => answerDocument(await render(ctx), ctx.header('if-none-match'))
}
