/**
 * Tokens for a person (authorization code and refresh grants): the access token, a refresh
 * token when policy allows, an ID token for openid.
 */
import { digestOf, randomToken } from '../../crypto/random.ts'
import type { Queryable } from '../../db/database.ts'
import { insertRefreshFamilyWithToken } from '../../db/refresh-tokens.ts'
import { issueIdToken } from '../../oidc/id-token.ts'
import { policyOf } from '../../oidc/policy.ts'
import type { RequestScope } from '../../request-scope.ts'
import { issueAccessToken } from '../access-token.ts'
import type { Client } from '../clients.ts'
import type { TokenResponse } from '../token-response.ts'

type Ctx = RequestScope

export interface Grant {
  readonly userId: string
  readonly sessionId: string | null
  readonly scope: readonly string[]
  readonly audience: string | string[]
  readonly authorizationDetails: unknown[] | null
  readonly authTime: Date
  readonly amr: readonly string[]
  readonly acr: string | null
  readonly nonce?: string | null
}

/** Whether this grant gets a refresh token (the application's refresh_token_policy). */
export function wantsRefreshToken(client: Client, scope: readonly string[]): boolean {
  if (!client.grantTypes.includes('refresh_token') || client.refreshTokenPolicy === 'never') return false
  return client.refreshTokenPolicy === 'always' || scope.includes('offline_access')
}

/**
 * A new refresh-token family with its first token, issued under an authorization code whose
 * exchange issued the access token `code.accessTokenJti`; undefined when a replay of the code
 * took that back meanwhile (insertRefreshFamilyWithToken).
 */
export async function startRefreshFamily(
  q: Queryable,
  ctx: Ctx,
  client: Client,
  grant: Grant,
  resource: readonly string[] | null,
  code: { readonly digest: Buffer; readonly accessTokenJti: string; readonly accessTokenExpiresAt: Date },
): Promise<{ token: string; familyId: string } | undefined> {
  const token = randomToken()
  const familyId = await insertRefreshFamilyWithToken(q, ctx.org.id, {
    clientId: client.clientId,
    userId: grant.userId,
    sessionId: grant.sessionId,
    scope: grant.scope,
    resource,
    authorizationDetails: grant.authorizationDetails,
    authTime: grant.authTime,
    amr: grant.amr,
    acr: grant.acr,
    absoluteSeconds: client.refreshTokenAbsoluteTtl,
    idleSeconds: client.refreshTokenIdleTtl,
    tokenDigest: digestOf(token),
    code,
  })
  return familyId === undefined ? undefined : { token, familyId }
}

/** The access token and, for openid, the ID token of a grant. */
export async function issueUserTokens(
  ctx: Ctx,
  client: Client,
  grant: Grant,
  grantType: string,
  preset: { readonly jti?: string; readonly issuedAt?: number } = {},
): Promise<{ response: TokenResponse; jti: string; expiresAt: Date }> {
  const { token, claims } = await issueAccessToken(ctx.runtime, ctx.org, {
    ...preset,
    clientId: client.clientId,
    subject: grant.userId,
    scope: grant.scope,
    audience: grant.audience,
    ttlSeconds: client.accessTokenTtl,
    claims: {
      auth_time: Math.floor(grant.authTime.getTime() / 1000),
      ...(grant.sessionId ? { sid: grant.sessionId } : {}),
      ...(grant.authorizationDetails ? { authorization_details: grant.authorizationDetails } : {}),
    },
  })
  const idToken = grant.scope.includes('openid')
    ? await issueIdToken(ctx.runtime, ctx.org, {
        clientId: client.clientId,
        alg: client.idTokenSignedResponseAlg,
        subject: grant.userId,
        nonce: grant.nonce,
        authTime: grant.authTime,
        amr: grant.amr,
        acr: grant.acr,
        sessionId: grant.sessionId,
        accessToken: token,
        ttlSeconds: policyOf(ctx.org).idTokenSeconds,
      })
    : undefined
  ctx.runtime.audit.record(ctx.org.id, {
    actorType: 'client',
    actorId: client.clientId,
    action: 'token.issued',
    targetType: 'access_token',
    targetId: claims.jti,
    result: 'success',
    ...ctx.request,
    details: { grant_type: grantType, sub: grant.userId, scope: claims.scope ?? '', aud: claims.aud },
  })
  return {
    response: {
      access_token: token,
      token_type: 'Bearer',
      expires_in: client.accessTokenTtl,
      ...(claims.scope ? { scope: claims.scope } : {}),
      ...(idToken ? { id_token: idToken } : {}),
      ...(grant.authorizationDetails ? { authorization_details: grant.authorizationDetails } : {}),
    },
    jti: claims.jti,
    expiresAt: new Date(claims.exp * 1000),
  }
}
