/**
 * Refresh Token Grant — RFC 6749 §6: the token rotates on every use, and the reuse of a
 * rotated one revokes its whole family (RFC 9700 §4.14.2).
 */
import { digestOf, randomToken } from '../../crypto/random.ts'
import { insertAuditEvent } from '../../db/audit.ts'
import { takeBackHit, weighHit } from '../../db/rate-limits.ts'
import { REFRESH_RATE_WINDOW_SECONDS, rotateRefreshToken } from '../../db/refresh-tokens.ts'
import { OAuthError, rateLimited } from '../../http/errors.ts'
import { policyOf } from '../../oidc/policy.ts'
import type { RequestScope } from '../../request-scope.ts'
import { newAccessTokenId } from '../access-token.ts'
import type { Client } from '../clients.ts'
import { revokeGrants } from '../revocation-list.ts'
import { audienceFor, parseScope } from '../scopes.ts'
import type { TokenResponse } from '../token-response.ts'
import { issueUserTokens } from './issue.ts'

export interface RefreshParameters {
  readonly refresh_token?: string | undefined
  readonly scope?: string | undefined
  readonly resource?: readonly string[] | undefined
}

const invalidGrant = (description: string) => new OAuthError('invalid_grant', description)

export async function refreshTokenGrant(
  ctx: RequestScope,
  client: Client,
  params: RefreshParameters,
): Promise<TokenResponse> {
  if (!params.refresh_token) throw new OAuthError('invalid_request', '`refresh_token` is required')
  const requestedScope = parseScope(params.scope)
  const digest = digestOf(params.refresh_token)
  const perMinute = policyOf(ctx.org).refreshPerFamilyPerMinute
  const next = randomToken()
  // The access token's identity is chosen ahead, so the successor records it: revoking the
  // family later revokes this access token too.
  const jti = newAccessTokenId()
  const issuedAt = Math.floor(Date.now() / 1000)
  // It consumes the token, stores the successor and counts the use on the family's rate
  // limit, or refuses and changes nothing but the count. After a refusal the client can mend
  // (too many uses, a scope or resource beyond the grant) the token stays usable.
  const lookup = await rotateRefreshToken(ctx.db, {
    tokenDigest: digest,
    clientId: client.clientId,
    nextDigest: digestOf(next),
    idleSeconds: client.refreshTokenIdleTtl,
    perMinute,
    scope: requestedScope,
    resource: params.resource ?? [],
    accessTokenJti: jti,
    accessTokenExpiresAt: new Date((issuedAt + client.accessTokenTtl) * 1000),
  })
  if (lookup.state === 'invalid') throw invalidGrant('the refresh token is invalid, expired or revoked')
  const family = lookup.family
  if (lookup.state === 'reused') {
    // The access tokens of the family go too: whoever replayed the token may hold one.
    await ctx.db.transaction(async (q) => {
      const revoked = await revokeGrants(
        q,
        ctx.org.id,
        { familyId: family.id },
        'rotated refresh token reused',
      )
      await insertAuditEvent(q, ctx.org.id, {
        actorType: 'client',
        actorId: client.clientId,
        action: 'refresh_token.reused',
        targetType: 'refresh_token_family',
        targetId: family.id,
        result: 'failure',
        ...ctx.request,
        details: { user_id: family.userId, revoked_access_tokens: revoked.deniedJtis.length },
      })
    })
    throw invalidGrant('the refresh token was already used; its grant is revoked')
  }
  if (lookup.state === 'refused') {
    const [reason] = lookup.reasons
    // A refusal the client can mend (wait, ask for less) does not use up the allowance: its
    // hit is taken back. A disabled user's grant is revoked below, so its count is moot.
    if (reason !== 'inactive')
      await takeBackHit(ctx.db, ctx.org.id, `refresh:${family.id}`, REFRESH_RATE_WINDOW_SECONDS)
    if (reason === 'rate')
      throw rateLimited(weighHit(lookup.hit, REFRESH_RATE_WINDOW_SECONDS, perMinute).retryAfter)
    if (reason === 'scope') {
      const refused = requestedScope.find((s) => !family.scope.includes(s))
      throw new OAuthError('invalid_scope', `scope "${refused}" was not granted originally`)
    }
    if (reason === 'resource')
      throw new OAuthError('invalid_target', 'resource was not part of the original grant')
    // The user was disabled: the grant goes, and the access tokens issued under it.
    await ctx.db.transaction((q) => revokeGrants(q, ctx.org.id, { familyId: family.id }, 'user inactive'))
    throw invalidGrant('the user is no longer active')
  }
  const scope = requestedScope.length ? requestedScope : [...family.scope]
  const issued = await issueUserTokens(
    ctx,
    client,
    {
      userId: family.userId,
      sessionId: family.sessionId,
      scope,
      audience: audienceFor(
        params.resource?.length ? params.resource : (family.resource ?? undefined),
        client.allowedAudiences,
        ctx.org.issuer,
      ),
      authorizationDetails: family.authorizationDetails,
      authTime: family.authTime,
      amr: family.amr,
      acr: family.acr,
    },
    'refresh_token',
    { jti, issuedAt },
  )
  return { ...issued.response, refresh_token: next }
}
