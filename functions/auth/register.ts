/** Client Registration Endpoint — RFC 7591 §3; OpenID Connect Dynamic Client Registration §3. */
import * as z from 'zod'
import { digestOf } from '../../shared/crypto/random.ts'
import { hitRateLimit, useRegistrationToken } from '../../shared/db/rate-limits.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { bearerError, OAuthError, quoteAuthParam, rateLimited } from '../../shared/http/errors.ts'
import { json } from '../../shared/http/reply.ts'
import {
  checkRegistrationScopes,
  parseRegistration,
  registrationResponse,
} from '../../shared/oauth/registration.ts'
import { registerClient } from '../../shared/oauth/registration-service.ts'
import { NO_STORE } from '../../shared/oauth/token-response.ts'
import { policyOf, registrationPolicy } from '../../shared/oidc/policy.ts'

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/oauth/register',
  body: z.looseObject({}),
  bodyType: 'json',
  answer: async (ctx) => {
    const { org } = ctx
    const perHour = policyOf(org).registrationsPerIpPerHour
    const limit = await ctx.db.transaction((q) =>
      hitRateLimit(q, org.id, `register:ip:${ctx.request.ip ?? 'unknown'}`, 3600, perHour),
    )
    if (limit.count > perHour) throw rateLimited(limit.retryAfter)
    if (registrationPolicy(org) === 'initial_access_token') {
      // RFC 7591 §3: an initial access token, as a Bearer token (RFC 6750).
      const token = ctx.header('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
      if (!token) {
        throw new OAuthError('invalid_token', 'registration requires an initial access token', {
          headers: { 'www-authenticate': `Bearer realm=${quoteAuthParam(org.issuer)}` },
        })
      }
      if (!(await ctx.db.transaction((q) => useRegistrationToken(q, digestOf(token))))) {
        throw bearerError('invalid_token', 'the initial access token is invalid, spent or expired')
      }
    }
    const { settings, extras } = parseRegistration(ctx.body)
    checkRegistrationScopes(settings.allowedScopes)
    const { app, clientSecret, registrationAccessToken } = await registerClient(ctx, settings, extras)
    return json(
      registrationResponse(app, extras, org.issuer, { clientSecret, registrationAccessToken }),
      201,
      NO_STORE,
    )
  },
})
