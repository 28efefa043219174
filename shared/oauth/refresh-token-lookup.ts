/**
 * Refresh tokens at the revocation (RFC 7009) and introspection (RFC 7662) endpoints. A
 * refresh token is an opaque 256-bit value (43 base64url characters), told apart from an
 * access token (a JWT) by its form, whatever the request's token_type_hint says.
 */
import { digestOf } from '../crypto/random.ts'
import { insertAuditEvent } from '../db/audit.ts'
import { findRefreshToken } from '../db/refresh-tokens.ts'
import { OAuthError } from '../http/errors.ts'
import type { RequestScope } from '../request-scope.ts'
import type { Client } from './clients.ts'
import { revokeGrants } from './revocation-list.ts'

type Ctx = RequestScope

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{43}$/

/** Whether `token` has the form of a refresh token, so looking it up can find anything. */
export function mayBeRefreshToken(token: string): boolean {
  return REFRESH_TOKEN.test(token)
}

/**
 * RFC 7009 §2.1: revokes the family of a refresh token issued to `client`, and with it the
 * access tokens of the same grant; audited in the same transaction. An unknown, expired or
 * already revoked token changes nothing (the endpoint answers 200 all the same).
 * @throws OAuthError unauthorized_client when the token was issued to another client.
 */
export async function revokeRefreshToken(ctx: Ctx, client: Client, token: string): Promise<void> {
  await ctx.db.transaction(async (q) => {
    const found = await findRefreshToken(q, digestOf(token))
    if (!found) return
    const { family } = found
    if (family.clientId !== client.clientId)
      throw new OAuthError('unauthorized_client', 'the token was not issued to this client')
    const { revoked, deniedJtis } = await revokeGrants(
      q,
      ctx.org.id,
      { familyId: family.id },
      'revoked by the client',
    )
    if (revoked === 0) return
    await insertAuditEvent(q, ctx.org.id, {
      actorType: 'client',
      actorId: client.clientId,
      action: 'refresh_token.revoked',
      targetType: 'refresh_token_family',
      targetId: family.id,
      result: 'success',
      ...ctx.request,
      details: { user_id: family.userId, revoked_access_tokens: deniedJtis.length },
    })
  })
}

/**
 * RFC 7662 §2.2: the introspection answer for a refresh token, when it is active and was
 * issued to the client asking (§4: no other client learns anything of it); undefined otherwise.
 */
export async function introspectRefreshToken(
  ctx: Ctx,
  client: Client,
  token: string,
): Promise<Record<string, unknown> | undefined> {
  const found = await findRefreshToken(ctx.db, digestOf(token))
  if (!found?.active || found.family.clientId !== client.clientId) return undefined
  const { family } = found
  // No token_type: RFC 6749 §5.1's types are those of access tokens.
  return {
    active: true,
    client_id: family.clientId,
    sub: family.userId,
    iss: ctx.org.issuer,
    scope: family.scope.join(' '),
    iat: Math.floor(found.issuedAt.getTime() / 1000),
    exp: Math.floor(found.expiresAt.getTime() / 1000),
    auth_time: Math.floor(family.authTime.getTime() / 1000),
    ...(family.sessionId ? { sid: family.sessionId } : {}),
    ...(family.authorizationDetails ? { authorization_details: family.authorizationDetails } : {}),
  }
}
