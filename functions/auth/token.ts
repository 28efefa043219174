/** Token Endpoint — RFC 6749 §3.2, §5: authorization code §4.1.3, client credentials §4.4, refresh §6. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { OAuthError } from '../../shared/http/errors.ts'
import { ClientAuthFields } from '../../shared/oauth/client-auth-schema.ts'
import { authenticateClient } from '../../shared/oauth/client-authentication.ts'
import { authorizationCodeGrant } from '../../shared/oauth/grants/authorization-code.ts'
import { clientCredentialsGrant } from '../../shared/oauth/grants/client-credentials.ts'
import { refreshTokenGrant } from '../../shared/oauth/grants/refresh-token.ts'
import { tokenResponse } from '../../shared/oauth/token-response.ts'

const TokenRequest = z.object({
  grant_type: z.string(),
  scope: z.string().optional(),
  // RFC 8707 §2: the one parameter that may repeat.
  resource: z.array(z.string()).optional(),
  code: z.string().optional(),
  redirect_uri: z.string().optional(),
  code_verifier: z.string().optional(),
  refresh_token: z.string().optional(),
  ...ClientAuthFields,
})

const GRANTS = {
  authorization_code: authorizationCodeGrant,
  client_credentials: clientCredentialsGrant,
  refresh_token: refreshTokenGrant,
} as const

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/oauth/token',
  body: TokenRequest,
  answer: async (ctx) => {
    const { body, org } = ctx
    const grant = GRANTS[body.grant_type as keyof typeof GRANTS]
    if (!grant)
      throw new OAuthError('unsupported_grant_type', `grant_type "${body.grant_type}" is not supported`)
    const endpoint = `${org.issuer}/oauth/token`
    const client = await authenticateClient(ctx, ctx.header('authorization'), body, [endpoint, org.issuer])
    if (!client.grantTypes.includes(body.grant_type)) {
      throw new OAuthError('unauthorized_client', `this client may not use the ${body.grant_type} grant`)
    }
    return tokenResponse(await grant(ctx, client, body))
  },
})
