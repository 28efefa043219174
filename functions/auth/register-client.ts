/** Client Configuration Endpoint — RFC 7592 §2: read, update, delete a registered client. */
import * as z from 'zod'
import { digestOf, digestsEqual } from '../../shared/crypto/random.ts'
import { findRegisteredClient } from '../../shared/db/applications.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { OAuthError } from '../../shared/http/errors.ts'
import { empty, json } from '../../shared/http/reply.ts'
import {
  checkRegistrationScopes,
  parseRegistration,
  registrationResponse,
} from '../../shared/oauth/registration.ts'
import {
  deleteRegisteredClient,
  invalidRegistrationToken,
  updateRegisteredClient,
} from '../../shared/oauth/registration-service.ts'
import { NO_STORE } from '../../shared/oauth/token-response.ts'

export default defineFunction({
  plane: 'auth',
  method: ['GET', 'PUT', 'DELETE'],
  path: '/oauth/register/:clientId',
  params: z.object({ clientId: z.string().min(1).max(200) }),
  body: z.looseObject({}),
  bodyType: 'json',
  answer: async (ctx) => {
    const { org, params } = ctx
    const token = ctx.header('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1]
    const registered = await ctx.db.transaction((q) => findRegisteredClient(q, params.clientId))
    // An unknown client and a wrong token look the same (RFC 7592 §2: 401, no enumeration).
    if (!token || !registered || !digestsEqual(digestOf(token), registered.tokenDigest)) {
      throw invalidRegistrationToken()
    }
    const { application } = registered
    if (ctx.method === 'GET')
      return json(registrationResponse(application, registered.metadata, org.issuer), 200, NO_STORE)
    if (ctx.method === 'DELETE') {
      await deleteRegisteredClient(ctx, application)
      return empty(204, NO_STORE)
    }
    // §2.2: the request carries the client_id, and the whole metadata, which replaces it.
    if (ctx.body.client_id !== application.clientId)
      throw new OAuthError('invalid_client_metadata', 'client_id must be the client being updated')
    const { settings, extras } = parseRegistration(ctx.body)
    checkRegistrationScopes(settings.allowedScopes)
    const { app, clientSecret } = await updateRegisteredClient(ctx, application, settings, extras)
    return json(registrationResponse(app, extras, org.issuer, { clientSecret }), 200, NO_STORE)
  },
})
