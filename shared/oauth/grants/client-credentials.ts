/** Client Credentials Grant — RFC 6749 §4.4. */

import { OAuthError } from '../../http/errors.ts'
import type { RequestScope } from '../../request-scope.ts'
import { issueAccessToken } from '../access-token.ts'
import type { Client } from '../clients.ts'
import { audienceFor, grantedScopes, parseScope } from '../scopes.ts'
import type { TokenResponse } from '../token-response.ts'

export interface ClientCredentialsParameters {
  readonly scope?: string | undefined
  readonly resource?: readonly string[] | undefined
}

export async function clientCredentialsGrant(
  ctx: RequestScope,
  client: Client,
  params: ClientCredentialsParameters,
): Promise<TokenResponse> {
  // §4.4: only confidential clients; a public client has no credentials to present.
  if (client.type === 'public')
    throw new OAuthError('unauthorized_client', 'public clients cannot use client_credentials')
  const scope = grantedScopes(parseScope(params.scope), client.allowedScopes, client.defaultScopes)
  const audience = audienceFor(params.resource, client.allowedAudiences, ctx.org.issuer)
  const { token, claims } = await issueAccessToken(ctx.runtime, ctx.org, {
    clientId: client.clientId,
    subject: client.clientId,
    scope,
    audience,
    ttlSeconds: client.accessTokenTtl,
  })
  ctx.runtime.audit.record(ctx.org.id, {
    actorType: 'client',
    actorId: client.clientId,
    action: 'token.issued',
    targetType: 'access_token',
    targetId: claims.jti,
    result: 'success',
    ...ctx.request,
    details: { grant_type: 'client_credentials', scope: claims.scope ?? '', aud: claims.aud },
  })
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: client.accessTokenTtl,
    ...(claims.scope ? { scope: claims.scope } : {}),
  }
}
