/** Rotate the organization's signing keys now, as the scheduled rotation would. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { json } from '../../shared/http/reply.ts'
import { SIGNING_ALGS } from '../../shared/keys/generate.ts'
import { rotateSigningKeys } from '../../shared/keys/rotation.ts'

const RotateKeys = z.strictObject({ alg: z.enum(SIGNING_ALGS).optional() })

export default defineFunction({
  plane: 'admin',
  method: 'POST',
  path: '/api/v1/keys/rotate',
  scope: 'keys:write',
  body: RotateKeys,
  docs: {
    summary: 'Rotate signing keys',
    responses: {
      200: {
        description: 'Per algorithm, the key that signs now and the one published to sign next.',
        schema: z.object({
          rotated: z.array(
            z.object({ alg: z.enum(SIGNING_ALGS), current_kid: z.string(), next_kid: z.string() }),
          ),
        }),
      },
    },
  },
  answer: async (ctx) => {
    const { actor } = ctx
    const { runtime, org } = ctx
    const algs = ctx.body.alg ? [ctx.body.alg] : undefined
    const rotated = await rotateSigningKeys(runtime.db, runtime.config.masterKey, org.id, actor.audit, algs)
    return json({ rotated: rotated.map((r) => ({ alg: r.alg, current_kid: r.current, next_kid: r.next })) })
  },
})
