/**
 * Refresh Token Grant — RFC 6749 §6: the token rotates on every use, and the reuse of a
 * rotated one revokes its whole family (RFC 9700 §4.14.2).
 */
import { digestOf, randomToken } from '../../crypto/random.ts'
import { insertAuditEvent } from '../../db/audit.ts'
import { weighHit } from '../../db/rate-limits.ts'
import { consumeRefreshToken } from '../../db/refresh-tokens.ts'
import type { HandlerContext } from '../../http/define-function.ts'
import { OAuthError, rateLimited } from '../../http/errors.ts'
import { policyOf } from '../../oidc/policy.ts'
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
// The per-family limit counts uses per minute (DESIGN.md §7: refresh 60/min per token family).
const RATE_WINDOW_SECONDS = 60

export async function refreshTokenGrant(
  ctx: HandlerContext<unknown, unknown, unknown>,
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
  // One transaction of two round trips for a usable token: the consume, which stores the
  // successor and counts the use on the family's rate limit in the same statement, then COMMIT
  // (a token that is not usable costs one more, to say why). Whatever is thrown in it rolls
  // back the consume, the successor and the count: the token stays usable.
  const outcome = await ctx.db.transaction(async (q) => {
    const lookup = await consumeRefreshToken(q, digest, client.clientId, {
      nextDigest: digestOf(next),
      idleSeconds: client.refreshTokenIdleTtl,
      limitWindowSeconds: RATE_WINDOW_SECONDS,
      accessTokenJti: jti,
      accessTokenExpiresAt: new Date((issuedAt + client.accessTokenTtl) * 1000),
    })
    if (lookup.state === 'invalid') return { error: 'the refresh token is invalid, expired or revoked' }
    const family = lookup.family
    if (lookup.state === 'reused') {
      // The access tokens of the family go too: whoever replayed the token may hold one.
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
      return { error: 'the refresh token was already used; its grant is revoked' }
    }
    // A refusal rolls the count back with the consume; the count committed so far already
    // stands at the limit, so every further use in this window is refused as well.
    const limit = weighHit(lookup.hit, RATE_WINDOW_SECONDS, perMinute)
    if (limit.count > perMinute) throw rateLimited(limit.retryAfter)
    const refused = requestedScope.find((s) => !family.scope.includes(s))
    if (refused !== undefined)
      throw new OAuthError('invalid_scope', `scope "${refused}" was not granted originally`)
    if (
      params.resource?.length &&
      family.resource?.length &&
      !params.resource.every((r) => family.resource!.includes(r))
    ) {
      throw new OAuthError('invalid_target', 'resource was not part of the original grant')
    }
    if (!lookup.userActive) {
      // Revoking the family kills the successor the consume stored with it.
      await revokeGrants(q, ctx.org.id, { familyId: family.id }, 'user inactive')
      return { error: 'the user is no longer active' }
    }
    return { family }
  })
  // Outside the transaction, so a revocation above is committed, not rolled back with the error.
  if (outcome.error !== undefined) throw invalidGrant(outcome.error)
  const family = outcome.family!
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
