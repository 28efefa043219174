/**
 * Rotate an application's secret; the old one may stay valid for a grace period. Only the
 * secret current until now gets that grace: one still in the grace of an earlier rotation
 * ends at once, so at most two secrets are ever valid.
 */
import * as z from 'zod'
import { ApplicationParams } from '../../shared/applications/schema.ts'
import { rotateApplicationSecret } from '../../shared/applications/service.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'

const RotateSecret = z.strictObject({
  /** How long the secret current until now keeps working: 0 (default) ends it at once. */
  grace_period_seconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400)
    .default(0),
})

export default defineFunction({
  plane: 'admin',
  method: 'POST',
  path: '/api/v1/applications/:id/secret',
  scope: 'applications:write',
  params: ApplicationParams,
  body: RotateSecret,
  docs: {
    summary: 'Rotate the client secret',
    responses: {
      200: {
        description:
          'The new secret, shown once, and until when the previous one stays valid. A secret still in the grace of an earlier rotation ends now.',
        schema: z.object({
          client_id: z.string(),
          client_secret: z.string(),
          previous_secrets_valid_until: z.iso.datetime(),
        }),
      },
      404: { description: 'No such application.' },
      409: { description: 'The application does not authenticate with a secret.' },
    },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    const rotated = await rotateApplicationSecret(ctx, actor, ctx.params.id, ctx.body.grace_period_seconds)
    return json(
      {
        client_id: rotated.application.clientId,
        client_secret: rotated.clientSecret,
        previous_secrets_valid_until: rotated.previousSecretsValidUntil.toISOString(),
      },
      200,
      { 'cache-control': 'no-store' },
    )
  },
})
