/** Authorization Code Grant at the token endpoint — RFC 6749 §4.1.3, PKCE RFC 7636 §4.6. */
import { hash } from 'node:crypto'
import { notifyChange } from '../../cache/invalidation.ts'
import { digestOf } from '../../crypto/random.ts'
import { insertAuditEvent } from '../../db/audit.ts'
import {
  type AuthorizationCode,
  clearCodeIssuance,
  consumeAuthorizationCode,
  takeCodeIssuance,
} from '../../db/authorization.ts'
import { insertRevokedAccessToken } from '../../db/revocations.ts'
import { OAuthError } from '../../http/errors.ts'
import type { RequestScope } from '../../request-scope.ts'
import { newAccessTokenId } from '../access-token.ts'
import type { Client } from '../clients.ts'
import { revokeGrants } from '../revocation-list.ts'
import { audienceFor } from '../scopes.ts'
import type { TokenResponse } from '../token-response.ts'
import { type Grant, issueUserTokens, startRefreshFamily, wantsRefreshToken } from './issue.ts'

export interface AuthorizationCodeParameters {
  readonly code?: string | undefined
  readonly redirect_uri?: string | undefined
  readonly code_verifier?: string | undefined
  readonly resource?: readonly string[] | undefined
}

const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/
const invalidGrant = (description: string) => new OAuthError('invalid_grant', description)

export async function authorizationCodeGrant(
  ctx: RequestScope,
  client: Client,
  params: AuthorizationCodeParameters,
): Promise<TokenResponse> {
  if (!params.code) throw new OAuthError('invalid_request', '`code` is required')
  const codeDigest = digestOf(params.code)
  // The access token's identity is chosen ahead so that consuming the code records it: a
  // second use of the code revokes it. Each step below is one statement in one round trip
  // (ctx.db.query; the consume shared with the exchanges that arrive with it);
  // what must not interleave is ordered by the code's row lock instead.
  const jti = newAccessTokenId()
  const issuedAt = Math.floor(Date.now() / 1000)
  const expiresAt = new Date((issuedAt + client.accessTokenTtl) * 1000)
  const consumed = await consumeAuthorizationCode(ctx.db, { digest: codeDigest, jti, expiresAt })
  if (!consumed) throw await refuseReuse(ctx, client, codeDigest)
  // Refusals below leave the code consumed: one try per code.
  const code = consumed.code
  const refused =
    checkBinding(code, client, params) ??
    (consumed.userActive ? undefined : invalidGrant('the user is no longer active'))
  if (refused) {
    // Nothing is issued under the code after all.
    await clearCodeIssuance(ctx.db, codeDigest)
    throw refused
  }
  const requested = params.resource?.length ? params.resource : (code.resource ?? undefined)
  const grant: Grant = {
    userId: code.userId,
    sessionId: code.sessionId,
    scope: code.scope,
    audience: audienceFor(requested, client.allowedAudiences, ctx.org.issuer),
    authorizationDetails: code.authorizationDetails,
    authTime: code.authTime,
    amr: code.amr,
    acr: code.acr,
    nonce: code.nonce,
  }
  let refresh: { token: string } | undefined
  if (wantsRefreshToken(client, code.scope)) {
    refresh = await startRefreshFamily(ctx.db, ctx, client, grant, code.resource, {
      digest: codeDigest,
      accessTokenJti: jti,
      accessTokenExpiresAt: expiresAt,
    })
    // A second use of the code came in between and revoked the access token: issue nothing.
    if (!refresh) throw invalidGrant('the authorization code was already used')
  }
  const issued = await issueUserTokens(ctx, client, grant, 'authorization_code', { jti, issuedAt })
  return { ...issued.response, ...(refresh ? { refresh_token: refresh.token } : {}) }
}

/**
 * A code that could not be consumed: unknown or expired, or used before. RFC 6749 §4.1.2: a
 * code used twice is refused, and what its first use got is revoked (in one transaction with
 * the audit event).
 */
async function refuseReuse(ctx: RequestScope, client: Client, codeDigest: Buffer): Promise<OAuthError> {
  const reused = await ctx.db.transaction(async (q) => {
    const issued = await takeCodeIssuance(q, codeDigest)
    if (!issued) return false
    if (issued.accessTokenJti && issued.accessTokenExpiresAt) {
      await insertRevokedAccessToken(q, ctx.org.id, issued.accessTokenJti, issued.accessTokenExpiresAt)
      await notifyChange(q, 'revocation', ctx.org.id, issued.accessTokenJti)
    }
    // With the family go the access tokens its refreshes issued since.
    if (issued.refreshFamilyId)
      await revokeGrants(q, ctx.org.id, { familyId: issued.refreshFamilyId }, 'authorization code replayed')
    await insertAuditEvent(q, ctx.org.id, {
      actorType: 'client',
      actorId: client.clientId,
      action: 'authorization_code.replayed',
      result: 'failure',
      ...ctx.request,
      details: {
        revoked_access_token: issued.accessTokenJti,
        revoked_refresh_family: issued.refreshFamilyId,
      },
    })
    return true
  })
  return reused
    ? invalidGrant('the authorization code was already used')
    : invalidGrant('the authorization code is invalid or expired')
}

/** Whether the code was issued to this client, for this redirect URI and PKCE verifier. */
function checkBinding(
  code: AuthorizationCode,
  client: Client,
  params: AuthorizationCodeParameters,
): OAuthError | undefined {
  if (code.clientId !== client.clientId)
    return invalidGrant('the authorization code was issued to another client')
  if (params.redirect_uri !== code.redirectUri)
    return invalidGrant('redirect_uri does not match the authorization request')
  if (code.codeChallenge) {
    if (!params.code_verifier || !VERIFIER.test(params.code_verifier))
      return invalidGrant('code_verifier is missing or malformed')
    const challenge = hash('sha256', params.code_verifier, 'base64url')
    if (challenge !== code.codeChallenge)
      return invalidGrant('code_verifier does not match the code_challenge')
  } else if (params.code_verifier !== undefined) {
    // RFC 9700 §2.1.1: a verifier for a request that had no challenge is an injected code.
    return invalidGrant('code_verifier was given but the authorization request had no code_challenge')
  }
  if (
    params.resource?.length &&
    code.resource?.length &&
    !params.resource.every((r) => code.resource!.includes(r))
  ) {
    return new OAuthError('invalid_target', 'resource was not part of the authorization request')
  }
  return undefined
}
