/** Storing dynamically registered clients (RFC 7591 §3, RFC 7592 §2). */
import type { ApplicationSettings } from '../applications/schema.ts'
import { usesSecret } from '../applications/schema.ts'
import { notifyChange } from '../cache/invalidation.ts'
import { digestOf, randomToken } from '../crypto/random.ts'
import {
  type Application,
  deleteApplication,
  findApplicationById,
  insertApplication,
  insertApplicationSecret,
  setClientMetadata,
  setClientRegistration,
  updateApplication,
} from '../db/applications.ts'
import { insertAuditEvent } from '../db/audit.ts'
import { bearerError } from '../http/errors.ts'
import type { RequestScope } from '../request-scope.ts'

type Ctx = RequestScope

/**
 * RFC 7592 §2: a wrong registration access token, an unknown client and a client deleted
 * meanwhile all get this one 401, so none can be told apart.
 */
export const invalidRegistrationToken = () =>
  bearerError('invalid_token', 'the registration access token is invalid for this client')

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
    // `current` was read before this transaction. Reading it again under a lock keeps an
    // admin's concurrent change of is_active (or a deletion) from being overwritten.
    const locked = await findApplicationById(q, current.id, { forUpdate: true })
    if (!locked) throw invalidRegistrationToken()
    const app = (await updateApplication(q, locked.id, { ...settings, isActive: locked.isActive }))!
    await setClientMetadata(q, app.id, extras)
    let clientSecret: string | undefined
    if (usesSecret(settings) && !usesSecret(locked)) {
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
    // Deleted in between (a second DELETE with the same token): no second audit event.
    if (!(await deleteApplication(q, app.id))) throw invalidRegistrationToken()
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
