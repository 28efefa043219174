/** Issue an initial access token for dynamic client registration (RFC 7591 §3). */
import * as z from 'zod'
import { digestOf, randomToken } from '../../shared/crypto/random.ts'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { insertRegistrationToken } from '../../shared/db/rate-limits.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'

export default defineFunction({
  plane: 'admin',
  method: 'POST',
  path: '/api/v1/registration-tokens',
  scope: 'applications:write',
  body: z.strictObject({
    uses: z.number().int().min(1).max(1000).default(1),
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(90 * 86_400)
      .default(86_400),
  }),
  docs: {
    summary: 'Issue an initial access token',
    responses: {
      201: {
        description: 'Shown once.',
        schema: z.object({ token: z.string(), uses: z.number().int(), expires_at: z.iso.datetime() }),
      },
    },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    const token = randomToken()
    const expiresAt = new Date(Date.now() + ctx.body.expires_in * 1000)
    await ctx.db.transaction(async (q) => {
      await insertRegistrationToken(q, ctx.org.id, digestOf(token), ctx.body.uses, expiresAt)
      await insertAuditEvent(q, ctx.org.id, {
        ...actor.audit,
        action: 'registration_token.issued',
        result: 'success',
        details: { uses: ctx.body.uses, expires_at: expiresAt.toISOString() },
      })
    })
    return json({ token, uses: ctx.body.uses, expires_at: expiresAt.toISOString() }, 201, {
      'cache-control': 'no-store',
    })
  },
})
