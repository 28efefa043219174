/** Token Introspection — RFC 7662 §2. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { invalidClient } from '../../shared/http/errors.ts'
import { json } from '../../shared/http/reply.ts'
import { verifyAccessToken } from '../../shared/oauth/access-token.ts'
import { ClientAuthFields } from '../../shared/oauth/client-auth-schema.ts'
import { authenticateClient } from '../../shared/oauth/client-authentication.ts'
import { introspectRefreshToken, mayBeRefreshToken } from '../../shared/oauth/refresh-token-lookup.ts'
import { NO_STORE } from '../../shared/oauth/token-response.ts'

const IntrospectionRequest = z.object({
  token: z.string(),
  token_type_hint: z.string().optional(),
  ...ClientAuthFields,
})

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/oauth/introspect',
  body: IntrospectionRequest,
  answer: async (ctx) => {
    const { body, org, runtime } = ctx
    const client = await authenticateClient(ctx, ctx.header('authorization'), body, [
      `${org.issuer}/oauth/introspect`,
      org.issuer,
    ])
    // §2.1: the endpoint requires client authentication, which a public client cannot give.
    if (client.type === 'public') throw invalidClient('public clients cannot introspect tokens')
    // §2.2: expired, revoked, malformed, foreign and unknown tokens are all just inactive.
    const claims = await verifyAccessToken(runtime, org, body.token)
    if (claims) return json({ active: true, ...claims, token_type: 'Bearer' }, 200, NO_STORE)
    // A refresh token is looked up; only the client it was issued to learns it is active.
    const refresh = mayBeRefreshToken(body.token)
      ? await introspectRefreshToken(ctx, client, body.token)
      : undefined
    return json(refresh ?? { active: false }, 200, NO_STORE)
  },
})
