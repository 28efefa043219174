/**
 * Authorization of the admin API: a bearer access token (RFC 6750) issued by the request's
 * organization for itself (aud includes its issuer), active, and carrying the scope the
 * endpoint needs. The errors carry RFC 6750 §3 challenges; the serializer renders them as
 * problem+json.
 */
import type { AdminScope } from '../admin-scopes.ts'
import type { AuditEvent } from '../db/audit.ts'
import { bearerError, OAuthError, quoteAuthParam } from '../http/errors.ts'
import { verifyAccessToken } from '../oauth/access-token.ts'
import type { RequestScope } from '../request-scope.ts'

export interface AdminActor {
  readonly clientId: string
  readonly subject: string
  /** Who did it, for the audit events of the change. */
  readonly audit: Pick<AuditEvent, 'actorType' | 'actorId' | 'ip' | 'userAgent' | 'requestId'>
}

type Ctx = Pick<RequestScope, 'runtime' | 'org' | 'request'>

/**
 * @throws OAuthError 401 (no token, or an invalid one) or 403 insufficient_scope.
 */
export async function authorizeAdmin(
  authorization: string | undefined,
  ctx: Ctx,
  scope: AdminScope,
): Promise<AdminActor> {
  const token = authorization?.match(/^Bearer\s+([A-Za-z0-9._~+/-]+=*)\s*$/i)?.[1]
  if (!token) {
    // RFC 6750 §3.1: a request without credentials gets a challenge and no error code.
    throw new OAuthError('invalid_token', 'a bearer access token is required', {
      headers: {
        'www-authenticate': `Bearer realm=${quoteAuthParam(ctx.org.issuer)}, scope=${quoteAuthParam(scope)}`,
      },
    })
  }
  const claims = await verifyAccessToken(ctx.runtime, ctx.org, token)
  if (!claims) throw bearerError('invalid_token', 'the access token is invalid, expired or revoked')
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
  if (!audience.includes(ctx.org.issuer))
    throw bearerError('invalid_token', 'the access token is not meant for this API')
  if (!(claims.scope ?? '').split(' ').includes(scope)) {
    throw bearerError('insufficient_scope', `the access token lacks the scope ${scope}`, { scope })
  }
  const subjectIsClient = claims.sub === claims.client_id
  return {
    clientId: claims.client_id,
    subject: claims.sub,
    audit: {
      actorType: subjectIsClient ? 'client' : 'user',
      actorId: claims.sub,
      ...ctx.request,
    },
  }
}
