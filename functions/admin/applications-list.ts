/** List applications, in creation order, a page at a time. */
import * as z from 'zod'
import { ApplicationResource, applicationView } from '../../shared/applications/schema.ts'
import { listApplications } from '../../shared/db/applications.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { decodeCursor, PageQuery, page } from '../../shared/http/pagination.ts'
import { json } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'admin',
  method: 'GET',
  path: '/api/v1/applications',
  scope: 'applications:read',
  query: PageQuery,
  docs: {
    summary: 'List applications',
    responses: {
      200: {
        description: 'A page; next_cursor is null on the last one.',
        schema: z.object({ data: z.array(ApplicationResource), next_cursor: z.string().nullable() }),
      },
    },
  },
  answer: async (ctx) => {
    const { limit, cursor } = ctx.query
    const after = decodeCursor(cursor)
    const rows = await ctx.db.transaction((q) => listApplications(q, { limit, after }))
    const result = page(
      rows.map((r) => ({ item: r.application, position: r.position })),
      limit,
    )
    return json({ data: result.data.map(applicationView), next_cursor: result.next_cursor })
  },
})
