/** Authorization Code Grant at the token endpoint — RFC 6749 §4.1.3, PKCE RFC 7636 §4.6. */
import { createHash } from 'node:crypto'
import { notifyChange } from '../../cache/invalidation.ts'
import { digestOf } from '../../crypto/random.ts'
import { insertAuditEvent } from '../../db/audit.ts'
import { consumeAuthorizationCode, recordCodeIssuance } from '../../db/authorization.ts'
import { revokeRefreshFamily } from '../../db/refresh-tokens.ts'
import { insertRevokedAccessToken } from '../../db/revocations.ts'
import { findUserById } from '../../db/users.ts'
import type { HandlerContext } from '../../http/define-function.ts'
import { OAuthError } from '../../http/errors.ts'
import type { Client } from '../clients.ts'
import { audienceFor } from '../scopes.ts'
import type { TokenResponse } from '../token-response.ts'
import { issueUserTokens, startRefreshFamily, wantsRefreshToken } from './issue.ts'

export interface AuthorizationCodeParameters {
  readonly code?: string | undefined
  readonly redirect_uri?: string | undefined
  readonly code_verifier?: string | undefined
  readonly resource?: readonly string[] | undefined
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
const invalidGrant = (description: string) => new OAuthError('invalid_grant', description)

export async function authorizationCodeGrant(
  ctx: HandlerContext<unknown, unknown, unknown>,
  client: Client,
  params: AuthorizationCodeParameters,
): Promise<TokenResponse> {
  if (!params.code) throw new OAuthError('invalid_request', '`code` is required')
  const codeDigest = digestOf(params.code)
  const consumed = await ctx.db.transaction((q) => consumeAuthorizationCode(q, codeDigest))
  if (consumed.state === 'unknown') throw invalidGrant('the authorization code is invalid or expired')
  if (consumed.state === 'replayed') {
    // RFC 6749 §4.1.2: a code used twice is refused, and what its first use got is revoked.
    await ctx.db.transaction(async (q) => {
      if (consumed.accessTokenJti && consumed.accessTokenExpiresAt) {
        await insertRevokedAccessToken(q, ctx.org.id, consumed.accessTokenJti, consumed.accessTokenExpiresAt)
        await notifyChange(q, 'revocation', ctx.org.id, consumed.accessTokenJti)
      }
      if (consumed.refreshFamilyId)
        await revokeRefreshFamily(q, consumed.refreshFamilyId, 'authorization code replayed')
      await insertAuditEvent(q, ctx.org.id, {
        actorType: 'client',
        actorId: client.clientId,
        action: 'authorization_code.replayed',
        result: 'failure',
        ip: ctx.request.ip,
        userAgent: ctx.request.userAgent,
        requestId: ctx.request.requestId,
        details: {
          revoked_access_token: consumed.accessTokenJti,
          revoked_refresh_family: consumed.refreshFamilyId,
        },
      })
    })
    throw invalidGrant('the authorization code was already used')
  }
  const code = consumed.code
  if (code.clientId !== client.clientId)
    throw invalidGrant('the authorization code was issued to another client')
  if (params.redirect_uri !== code.redirectUri)
    throw invalidGrant('redirect_uri does not match the authorization request')
  if (code.codeChallenge) {
    if (!params.code_verifier || !VERIFIER.test(params.code_verifier))
      throw invalidGrant('code_verifier is missing or malformed')
    const challenge = createHash('sha256').update(params.code_verifier).digest('base64url')
    if (challenge !== code.codeChallenge)
      throw invalidGrant('code_verifier does not match the code_challenge')
  } else if (params.code_verifier !== undefined) {
    // RFC 9700 §2.1.1: a verifier for a request that had no challenge is an injected code.
    throw invalidGrant('code_verifier was given but the authorization request had no code_challenge')
  }
  const user = await ctx.db.transaction((q) => findUserById(q, code.userId))
  if (!user?.isActive) throw invalidGrant('the user is no longer active')

  const requested = params.resource?.length ? params.resource : (code.resource ?? undefined)
  if (
    params.resource?.length &&
    code.resource?.length &&
    !params.resource.every((r) => code.resource!.includes(r))
  ) {
    throw new OAuthError('invalid_target', 'resource was not part of the authorization request')
  }
  const audience = audienceFor(requested, client.allowedAudiences, ctx.org.issuer)
  const grant = {
    userId: user.id,
    sessionId: code.sessionId,
    scope: code.scope,
    audience,
    authorizationDetails: code.authorizationDetails,
    authTime: code.authTime,
    amr: code.amr,
    acr: code.acr,
    nonce: code.nonce,
  }
  const issued = await issueUserTokens(ctx, client, grant, 'authorization_code')
  const refresh = await ctx.db.transaction(async (q) => {
    const r = wantsRefreshToken(client, code.scope)
      ? await startRefreshFamily(q, ctx, client, grant, code.resource)
      : undefined
    await recordCodeIssuance(q, codeDigest, {
      jti: issued.jti,
      expiresAt: issued.expiresAt,
      refreshFamilyId: r?.familyId ?? null,
    })
    return r
  })
  return { ...issued.response, ...(refresh ? { refresh_token: refresh.token } : {}) }
}
