/** Token Endpoint — RFC 6749 §3.2, §5; client credentials §4.4. */
import * as z from 'zod'
import { defineFunction } from '../../shared/http/define-function.ts'
import { OAuthError } from '../../shared/http/errors.ts'
import { authenticateClient } from '../../shared/oauth/client-authentication.ts'
import { clientCredentialsGrant } from '../../shared/oauth/grants/client-credentials.ts'
import { tokenResponse } from '../../shared/oauth/token-response.ts'

const TokenRequest = z.object({
  grant_type: z.string(),
  scope: z.string().optional(),
  // RFC 8707 §2: the one parameter that may repeat.
  resource: z.array(z.string()).optional(),
  client_id: z.string().optional(),
  client_secret: z.string().optional(),
  client_assertion_type: z.string().optional(),
  client_assertion: z.string().optional(),
})

const GRANTS = {
  client_credentials: clientCredentialsGrant,
} as const

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/oauth/token',
  body: TokenRequest,
  handler: async (c, ctx) => {
    const { body, org } = ctx
    const grant = GRANTS[body.grant_type as keyof typeof GRANTS]
    if (!grant)
      throw new OAuthError('unsupported_grant_type', `grant_type "${body.grant_type}" is not supported`)
    const endpoint = `${org.issuer}/oauth/token`
    const client = await authenticateClient(ctx, ctx.header('authorization'), body, [endpoint, org.issuer])
    if (!client.grantTypes.includes(body.grant_type)) {
      throw new OAuthError('unauthorized_client', `this client may not use the ${body.grant_type} grant`)
    }
    return tokenResponse(c, await grant(ctx, client, body))
  },
})
