/** UserInfo Endpoint — OpenID Connect Core §5.3; Bearer tokens per RFC 6750 §2.1-2.2. */
import * as z from 'zod'
import { findUserById } from '../../shared/db/users.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { bearerError } from '../../shared/http/errors.ts'
import { json } from '../../shared/http/reply.ts'
import { verifyAccessToken } from '../../shared/oauth/access-token.ts'
import { NO_STORE } from '../../shared/oauth/token-response.ts'
import { userClaims } from '../../shared/oidc/claims.ts'

export default defineFunction({
  plane: 'auth',
  method: ['GET', 'POST'],
  path: '/oauth/userinfo',
  body: z.object({ access_token: z.string().optional() }),
  answer: async (ctx) => {
    const header = ctx.header('authorization')
    const fromHeader = header?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
    const fromBody = ctx.body?.access_token
    // RFC 6750 §2: one method per request.
    if (fromHeader && fromBody)
      throw bearerError('invalid_request', 'the access token must be sent one way only')
    const token = fromHeader ?? fromBody
    if (!token) throw bearerError('invalid_token', 'an access token is required')
    const claims = await verifyAccessToken(ctx.runtime, ctx.org, token)
    if (!claims) throw bearerError('invalid_token', 'the access token is invalid, expired or revoked')
    const scopes = (claims.scope ?? '').split(' ')
    if (!scopes.includes('openid'))
      throw bearerError('insufficient_scope', 'the access token lacks the openid scope', { scope: 'openid' })
    const user = await ctx.db.transaction((q) => findUserById(q, claims.sub))
    if (!user?.isActive)
      throw bearerError('invalid_token', 'the access token does not belong to an active user')
    return json(userClaims(user, scopes), 200, NO_STORE)
  },
})
