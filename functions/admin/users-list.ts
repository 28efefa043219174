/** List users in creation order, optionally those whose email contains a text. */
import * as z from 'zod'
import { listUsers } from '../../shared/db/users.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { decodeCursor, PageQuery, page } from '../../shared/http/pagination.ts'
import { json } from '../../shared/http/reply.ts'
import { UserResource, userView } from '../../shared/users/schema.ts'

export default defineFunction({
  plane: 'admin',
  method: 'GET',
  path: '/api/v1/users',
  scope: 'users:read',
  query: PageQuery.extend({ email: z.string().min(1).max(320).optional() }),
  docs: {
    summary: 'List users',
    responses: {
      200: {
        description: 'A page.',
        schema: z.object({ data: z.array(UserResource), next_cursor: z.string().nullable() }),
      },
    },
  },
  answer: async (ctx) => {
    const { limit, cursor, email } = ctx.query
    const after = decodeCursor(cursor)
    const rows = await ctx.db.transaction((q) => listUsers(q, { limit, after, email }))
    const result = page(
      rows.map((r) => ({ item: r.user, position: r.position })),
      limit,
    )
    return json({ data: result.data.map(userView), next_cursor: result.next_cursor })
  },
})
