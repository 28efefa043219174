/** Authorization Endpoint — RFC 6749 §3.1, §4.1.1; OpenID Connect Core §3.1.2; RFC 9126 §4. */
import * as z from 'zod'
import { consumePushedRequest } from '../../shared/db/authorization.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  type AuthorizationRequest,
  checkClientAndRedirect,
  type Parameters,
  validateAuthorizationRequest,
} from '../../shared/oidc/authorization-request.ts'
import { authorize, errorResponse } from '../../shared/oidc/authorize.ts'
import { requestUriDigest } from '../../shared/oidc/pushed-requests.ts'

// Unknown parameters pass through and are ignored (RFC 6749 §3.1); only resource may repeat.
const AuthorizationParameters = z.looseObject({ resource: z.array(z.string()).optional() })

export default defineFunction({
  plane: 'auth',
  method: ['GET', 'POST'],
  path: '/oauth/authorize',
  query: AuthorizationParameters,
  body: AuthorizationParameters,
  bodyType: 'form',
  // Until the client and redirect URI are trusted, errors are a page, never a redirect.
  errors: 'html',
  answer: async (ctx) => {
    const params = (ctx.method === 'POST' ? ctx.body : ctx.query) as Parameters
    const clientId = typeof params.client_id === 'string' ? params.client_id : undefined
    const client = clientId ? await ctx.runtime.clients.find(ctx.org.id, clientId) : undefined

    let request: AuthorizationRequest
    const requestUri = typeof params.request_uri === 'string' ? params.request_uri : undefined
    if (requestUri !== undefined) {
      // RFC 9126 §4: the pushed request is the request; only client_id must come along.
      if (!client?.isActive)
        throw new AuthorizationPageError('The application that sent you here is not known.')
      const digest = requestUriDigest(requestUri)
      const pushed = digest && (await ctx.db.transaction((q) => consumePushedRequest(q, digest)))
      if (!pushed || pushed.clientId !== client.clientId) {
        throw new AuthorizationPageError(
          'This authorization request expired or was already used. Go back to the application and start again.',
        )
      }
      request = pushed.parameters as unknown as AuthorizationRequest
    } else {
      const { redirectUri } = checkClientAndRedirect(params, client)
      try {
        request = validateAuthorizationRequest(params, client!, redirectUri, {
          issuer: ctx.org.issuer,
          pushed: false,
        })
      } catch (err) {
        if (err instanceof AuthorizationRedirectError) return errorResponse(ctx.org.issuer, err)
        throw err
      }
    }
    return authorize(ctx, client!, request)
  },
})
