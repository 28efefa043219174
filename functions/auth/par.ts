/** Pushed Authorization Request Endpoint — RFC 9126 §2. */
import * as z from 'zod'
import { digestOf, randomToken } from '../../shared/crypto/random.ts'
import { insertPendingRequest } from '../../shared/db/authorization.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { OAuthError } from '../../shared/http/errors.ts'
import { json } from '../../shared/http/reply.ts'
import { ClientAuthFields } from '../../shared/oauth/client-auth-schema.ts'
import { authenticateClient } from '../../shared/oauth/client-authentication.ts'
import { NO_STORE } from '../../shared/oauth/token-response.ts'
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  type AuthorizationRequest,
  checkClientAndRedirect,
  type Parameters,
  validateAuthorizationRequest,
} from '../../shared/oidc/authorization-request.ts'
import { policyOf } from '../../shared/oidc/policy.ts'
import { requestUriOf } from '../../shared/oidc/pushed-requests.ts'

const PushedRequest = z.looseObject({ resource: z.array(z.string()).optional(), ...ClientAuthFields })

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/oauth/par',
  body: PushedRequest,
  answer: async (ctx) => {
    const { body, org } = ctx
    const client = await authenticateClient(ctx, ctx.header('authorization'), body, [
      `${org.issuer}/oauth/par`,
      org.issuer,
    ])
    // §2.1: request_uri cannot itself be pushed.
    if (body.request_uri !== undefined)
      throw new OAuthError('invalid_request', 'request_uri must not be pushed')
    const params = { ...(body as Parameters), client_id: client.clientId }
    let request: AuthorizationRequest
    try {
      const { redirectUri } = checkClientAndRedirect(params, client)
      request = validateAuthorizationRequest(params, client, redirectUri, {
        issuer: org.issuer,
        pushed: true,
      })
    } catch (err) {
      // §2.3: errors are answered to the client, as at the token endpoint.
      if (err instanceof AuthorizationRedirectError) throw new OAuthError(err.code, err.message)
      if (err instanceof AuthorizationPageError) throw new OAuthError('invalid_request', err.message)
      throw err
    }
    const handle = randomToken()
    const ttl = policyOf(org).pushedRequestSeconds
    await ctx.db.transaction((q) =>
      insertPendingRequest(q, org.id, {
        handleDigest: digestOf(handle),
        kind: 'pushed',
        clientId: client.clientId,
        parameters: request as unknown as Record<string, unknown>,
        ttlSeconds: ttl,
      }),
    )
    return json({ request_uri: requestUriOf(handle), expires_in: ttl }, 201, NO_STORE)
  },
})
