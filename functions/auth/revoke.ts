/** Token Revocation — RFC 7009 §2. */
import * as z from 'zod'
import { notifyChange } from '../../shared/cache/invalidation.ts'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { insertRevokedAccessToken } from '../../shared/db/revocations.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { OAuthError } from '../../shared/http/errors.ts'
import type { Reply } from '../../shared/http/reply.ts'
import { verifyAccessToken } from '../../shared/oauth/access-token.ts'
import { ClientAuthFields } from '../../shared/oauth/client-auth-schema.ts'
import { authenticateClient } from '../../shared/oauth/client-authentication.ts'
import { mayBeRefreshToken, revokeRefreshToken } from '../../shared/oauth/refresh-token-lookup.ts'
import { NO_STORE } from '../../shared/oauth/token-response.ts'

// §2.2: 200 with nothing the client needs to read; an empty body with its length, so the
// answer is not chunked.
const REVOKED: Reply = { status: 200, body: '', headers: NO_STORE }

const RevocationRequest = z.object({
  token: z.string(),
  // §2.1: a hint only; the token is looked up whatever it says.
  token_type_hint: z.string().optional(),
  ...ClientAuthFields,
})

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/oauth/revoke',
  body: RevocationRequest,
  answer: async (ctx) => {
    const { body, org, runtime, request } = ctx
    const client = await authenticateClient(ctx, ctx.header('authorization'), body, [
      `${org.issuer}/oauth/revoke`,
      org.issuer,
    ])
    const claims = await verifyAccessToken(runtime, org, body.token)
    if (!claims) {
      // §2.1: a refresh token revokes its family and the access tokens of the same grant.
      if (mayBeRefreshToken(body.token)) await revokeRefreshToken(ctx, client, body.token)
      // §2.2: an invalid, expired or already revoked token still gets 200.
      return REVOKED
    }
    // §2.1: the token must have been issued to the client revoking it.
    if (claims.client_id !== client.clientId)
      throw new OAuthError('unauthorized_client', 'the token was not issued to this client')
    await ctx.db.transaction(async (q) => {
      await insertRevokedAccessToken(q, org.id, claims.jti, new Date(claims.exp * 1000))
      await notifyChange(q, 'revocation', org.id, claims.jti)
      await insertAuditEvent(q, org.id, {
        actorType: 'client',
        actorId: client.clientId,
        action: 'token.revoked',
        targetType: 'access_token',
        targetId: claims.jti,
        result: 'success',
        ...request,
      })
    })
    return REVOKED
  },
})
