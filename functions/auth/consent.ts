/** The person's answer to the consent page: remembered when allowed, access_denied when not. */
import * as z from 'zod'
import { insertAuditEvent } from '../../shared/db/audit.ts'
import { consumeInteraction, markInteractionConsented, upsertConsent } from '../../shared/db/authorization.ts'
import { defineFunction } from '../../shared/http/define-function.ts'
import { redirect } from '../../shared/http/reply.ts'
import { AuthorizationRedirectError } from '../../shared/oidc/authorization-request.ts'
import { errorResponse } from '../../shared/oidc/authorize.ts'
import { verifyCsrf } from '../../shared/oidc/csrf.ts'
import { openInteraction } from '../../shared/oidc/interactions.ts'
import { currentSession } from '../../shared/oidc/sessions.ts'

const ConsentForm = z.object({
  interaction: z.string().max(100),
  decision: z.enum(['allow', 'deny']),
  csrf: z.string().max(100).optional(),
})

export default defineFunction({
  plane: 'auth',
  method: 'POST',
  path: '/auth/consent',
  body: ConsentForm,
  bodyType: 'form',
  answer: async (ctx) => {
    const { body, org } = ctx
    verifyCsrf(ctx, body.csrf)
    const interaction = await openInteraction(ctx, body.interaction)
    const live = await currentSession(ctx)
    if (!live) return redirect(`${org.issuer}/auth/login?interaction=${interaction.handle}`, 303)
    const { request, client } = interaction
    const audit = {
      actorType: 'user' as const,
      actorId: live.user.id,
      targetType: 'application',
      targetId: client.id,
      ...ctx.request,
    }
    if (body.decision === 'deny') {
      await ctx.db.transaction(async (q) => {
        await consumeInteraction(q, interaction.pending.id)
        await insertAuditEvent(q, org.id, {
          ...audit,
          action: 'consent.denied',
          result: 'failure',
          details: { scope: request.scope },
        })
      })
      const target = {
        redirectUri: request.redirectUri,
        state: request.state,
        responseMode: request.responseMode,
      }
      return errorResponse(
        org.issuer,
        new AuthorizationRedirectError('access_denied', 'the user denied the request', target),
      )
    }
    await ctx.db.transaction(async (q) => {
      // Scopes are remembered; authorization details are asked for each time.
      await upsertConsent(q, org.id, live.user.id, client.clientId, request.scope)
      await markInteractionConsented(q, interaction.pending.id)
      await insertAuditEvent(q, org.id, {
        ...audit,
        action: 'consent.granted',
        result: 'success',
        details: {
          client_id: client.clientId,
          scope: request.scope,
          authorization_details_types: request.authorizationDetails?.map((d) => d.type) ?? [],
        },
      })
    })
    return redirect(`${org.issuer}/auth/continue?interaction=${interaction.handle}`, 303)
  },
})
