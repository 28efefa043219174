/** Cursor pagination for the admin API: opaque cursors over (created_at, id). */
import * as z from 'zod'
import { ProblemError } from './errors.ts'

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
})

export interface Position {
  readonly createdAt: Date
  readonly id: string
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.createdAt.toISOString(), p.id])).toString('base64url')
}

/** @throws ProblemError 400 for a cursor this server did not make. */
export function decodeCursor(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string]
    const createdAt = new Date(at)
    if (Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw new Error('bad cursor')
    return { createdAt, id }
  } catch {
    throw new ProblemError(400, 'invalid_cursor', 'The cursor is not one this API returned.')
  }
}

/** A page of results and the cursor of the next one (null at the end). */
export function page<T>(items: readonly T[], limit: number, positionOf: (item: T) => Position) {
  const last = items[items.length - 1]
  return { data: items, next_cursor: items.length === limit && last ? encodeCursor(positionOf(last)) : null }
}
