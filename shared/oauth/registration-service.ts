/** Storing dynamically registered clients (RFC 7591 §3, RFC 7592 §2). */
import type { ApplicationSettings } from '../applications/schema.ts'
import { usesSecret } from '../applications/schema.ts'
import { notifyChange } from '../cache/invalidation.ts'
import { digestOf, randomToken } from '../crypto/random.ts'
import {
  type Application,
  deleteApplication,
  insertApplication,
  insertApplicationSecret,
  setClientMetadata,
  setClientRegistration,
  updateApplication,
} from '../db/applications.ts'
import { insertAuditEvent } from '../db/audit.ts'
import type { HandlerContext } from '../http/define-function.ts'

type Ctx = HandlerContext<unknown, unknown, unknown>

const actorOf = (ctx: Ctx, clientId: string | null) => ({
  actorType: clientId ? ('client' as const) : ('anonymous' as const),
  actorId: clientId,
  ...ctx.request,
})

export async function registerClient(
  ctx: Ctx,
  settings: ApplicationSettings,
  extras: Record<string, unknown>,
) {
  const registrationAccessToken = randomToken()
  return ctx.db.transaction(async (q) => {
    const app = await insertApplication(q, ctx.org.id, { ...settings, clientId: randomToken(16) })
    let clientSecret: string | undefined
    if (usesSecret(settings)) {
      clientSecret = randomToken()
      await insertApplicationSecret(q, ctx.org.id, app.id, digestOf(clientSecret))
    }
    await setClientRegistration(q, app.id, {
      tokenDigest: digestOf(registrationAccessToken),
      metadata: extras,
    })
    await insertAuditEvent(q, ctx.org.id, {
      ...actorOf(ctx, null),
      action: 'application.registered',
      targetType: 'application',
      targetId: app.id,
      result: 'success',
      details: { client_id: app.clientId, name: app.name, redirect_uris: app.redirectUris },
    })
    await notifyChange(q, 'application', ctx.org.id, app.clientId)
    return { app, clientSecret, registrationAccessToken }
  })
}

export async function updateRegisteredClient(
  ctx: Ctx,
  current: Application,
  settings: ApplicationSettings,
  extras: Record<string, unknown>,
) {
  return ctx.db.transaction(async (q) => {
    const app = (await updateApplication(q, current.id, { ...settings, isActive: current.isActive }))!
    await setClientMetadata(q, app.id, extras)
    let clientSecret: string | undefined
    if (usesSecret(settings) && !usesSecret(current)) {
      clientSecret = randomToken()
      await insertApplicationSecret(q, ctx.org.id, app.id, digestOf(clientSecret))
    }
    await insertAuditEvent(q, ctx.org.id, {
      ...actorOf(ctx, app.clientId),
      action: 'application.updated',
      targetType: 'application',
      targetId: app.id,
      result: 'success',
      details: { client_id: app.clientId, via: 'registration' },
    })
    await notifyChange(q, 'application', ctx.org.id, app.clientId)
    return { app, clientSecret }
  })
}

export async function deleteRegisteredClient(ctx: Ctx, app: Application): Promise<void> {
  await ctx.db.transaction(async (q) => {
    await deleteApplication(q, app.id)
    await insertAuditEvent(q, ctx.org.id, {
      ...actorOf(ctx, app.clientId),
      action: 'application.deleted',
      targetType: 'application',
      targetId: app.id,
      result: 'success',
      details: { client_id: app.clientId, via: 'registration' },
    })
    await notifyChange(q, 'application', ctx.org.id, app.clientId)
  })
}
