/** Cursor pagination for the admin API: opaque cursors over (created_at, id). */
import * as z from 'zod'
import { ProblemError } from './errors.ts'

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
})

/** Where a page ends: the exact stored created_at (ISO 8601, microseconds) and the id. */
export interface Position {
  readonly at: string
  readonly id: string
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.at, p.id])).toString('base64url')
}

/** @throws ProblemError 400 for a cursor this server did not make. */
export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    if (typeof at !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(at))
      throw new Error('bad cursor')
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('bad cursor')
    return { at, id }
  } catch {
    throw new ProblemError(400, 'invalid_cursor', 'The cursor is not one this API returned.')
  }
}

/** A page of results and the cursor of the next one (null at the end). */
export function page<T>(items: readonly { item: T; position: Position }[], limit: number) {
  const last = items[items.length - 1]
  return {
    data: items.map((i) => i.item),
    next_cursor: items.length === limit && last ? encodeCursor(last.position) : null,
  }
}
