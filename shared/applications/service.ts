/**
 * Changes to applications. Each runs in one transaction with its audit event and a NOTIFY
 * that drops the client from every process's cache.
 */
import type { AdminActor } from '../admin/authorize.ts'
import { notifyChange } from '../cache/invalidation.ts'
import { digestOf, randomToken } from '../crypto/random.ts'
import {
  type Application,
  deleteApplication,
  expireApplicationSecrets,
  findApplicationById,
  insertApplication,
  insertApplicationSecret,
  updateApplication,
} from '../db/applications.ts'
import { insertAuditEvent } from '../db/audit.ts'
import type { Queryable } from '../db/database.ts'
import { ProblemError } from '../http/errors.ts'
import type { TenantDatabase } from '../request-scope.ts'
import {
  type ApplicationSettings,
  applyPatch,
  type CreateApplication,
  type UpdateApplication,
  usesSecret,
  violations,
  withDefaults,
} from './schema.ts'

interface Ctx {
  readonly db: TenantDatabase
  readonly org: { readonly id: string }
}

export const applicationNotFound = () => new ProblemError(404, 'not_found', 'No application has this id.')

function checkRules(settings: ApplicationSettings): void {
  const found = violations(settings)
  if (found.length === 0) return
  throw new ProblemError(400, 'validation_failed', `\`${found[0]!.field}\` ${found[0]!.message}`, {
    title: 'Invalid request',
    extensions: { errors: found.map((v) => ({ pointer: `/${v.field}`, detail: v.message })) },
  })
}

async function addSecret(q: Queryable, organizationId: string, applicationId: string): Promise<string> {
  const secret = randomToken()
  await insertApplicationSecret(q, organizationId, applicationId, digestOf(secret))
  return secret
}

/** @throws ProblemError 400 when the fields contradict each other. */
export async function createApplication(ctx: Ctx, actor: AdminActor, input: CreateApplication) {
  const settings = withDefaults(input)
  checkRules(settings)
  return ctx.db.transaction(async (q) => {
    const application = await insertApplication(q, ctx.org.id, { ...settings, clientId: randomToken(16) })
    const clientSecret = usesSecret(settings) ? await addSecret(q, ctx.org.id, application.id) : undefined
    await insertAuditEvent(q, ctx.org.id, {
      ...actor.audit,
      action: 'application.created',
      targetType: 'application',
      targetId: application.id,
      result: 'success',
      details: { client_id: application.clientId, name: application.name, type: application.type },
    })
    // A cached "unknown client" for this client_id must go too.
    await notifyChange(q, 'application', ctx.org.id, application.clientId)
    return { application, clientSecret }
  })
}

/**
 * Applies a patch; a change to a secret-based method with no valid secret creates one.
 * @throws ProblemError 404 for an unknown id, 400 when the result breaks a rule.
 */
export async function patchApplication(ctx: Ctx, actor: AdminActor, id: string, patch: UpdateApplication) {
  return ctx.db.transaction(async (q) => {
    // Locked: the patch is merged onto this row, and the row is still there to update.
    const current = await findApplicationById(q, id, { forUpdate: true })
    if (!current) throw applicationNotFound()
    const settings = applyPatch(current, patch)
    checkRules(settings)
    const application = (await updateApplication(q, id, {
      ...settings,
      isActive: patch.is_active ?? current.isActive,
    }))!
    const clientSecret =
      usesSecret(settings) && !usesSecret(current)
        ? await addSecret(q, ctx.org.id, application.id)
        : undefined
    await insertAuditEvent(q, ctx.org.id, {
      ...actor.audit,
      action: 'application.updated',
      targetType: 'application',
      targetId: id,
      result: 'success',
      details: { client_id: application.clientId, fields: Object.keys(patch) },
    })
    await notifyChange(q, 'application', ctx.org.id, application.clientId)
    return { application, clientSecret }
  })
}

/** @throws ProblemError 404 for an unknown id. */
export async function removeApplication(ctx: Ctx, actor: AdminActor, id: string): Promise<Application> {
  return ctx.db.transaction(async (q) => {
    const application = await deleteApplication(q, id)
    if (!application) throw applicationNotFound()
    await insertAuditEvent(q, ctx.org.id, {
      ...actor.audit,
      action: 'application.deleted',
      targetType: 'application',
      targetId: id,
      result: 'success',
      details: { client_id: application.clientId, name: application.name },
    })
    await notifyChange(q, 'application', ctx.org.id, application.clientId)
    return application
  })
}

/**
 * A new secret; the one current until now keeps working for `graceSeconds` more. Secrets of
 * earlier rotations still in their grace end at once: at most two secrets are valid at a time,
 * so repeated rotations cannot pile up valid secrets.
 * @throws ProblemError 404 for an unknown id, 409 for an application without secrets.
 */
export async function rotateApplicationSecret(ctx: Ctx, actor: AdminActor, id: string, graceSeconds: number) {
  return ctx.db.transaction(async (q) => {
    // Locked: two rotations at once must not each keep only their own predecessors'
    // secrets in grace and leave both new secrets valid.
    const application = await findApplicationById(q, id, { forUpdate: true })
    if (!application) throw applicationNotFound()
    if (!usesSecret(application)) {
      throw new ProblemError(
        409,
        'no_secret',
        `This application authenticates with ${application.tokenEndpointAuthMethod}; it has no secret.`,
      )
    }
    const until = new Date(Date.now() + graceSeconds * 1000)
    const ended = await expireApplicationSecrets(q, application.id, until)
    const clientSecret = await addSecret(q, ctx.org.id, application.id)
    await insertAuditEvent(q, ctx.org.id, {
      ...actor.audit,
      action: 'application.secret_rotated',
      targetType: 'application',
      targetId: id,
      result: 'success',
      details: {
        client_id: application.clientId,
        previous_valid_until: until.toISOString(),
        ...(ended.earlier > 0 ? { earlier_secrets_ended: ended.earlier } : {}),
      },
    })
    await notifyChange(q, 'application', ctx.org.id, application.clientId)
    return { application, clientSecret, previousSecretsValidUntil: until }
  })
}
