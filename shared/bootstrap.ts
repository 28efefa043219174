/**
 * Creating an organization with its first admin user and an admin API client, in one
 * transaction with its audit events. Used by `zenoauth bootstrap` and by `npm start`'s first run.
 */
import { randomUUID } from 'node:crypto'
import { ADMIN_SCOPES } from './admin-scopes.ts'
import { hashPassword } from './crypto/password.ts'
import { digestOf, randomPassword, randomToken } from './crypto/random.ts'
import { insertApplication, insertApplicationSecret } from './db/applications.ts'
import { insertAuditEvent } from './db/audit.ts'
import type { Database } from './db/database.ts'
import { insertOrganization, insertOrganizationDomain, listOrganizations } from './db/organizations.ts'
import { insertUser } from './db/users.ts'
import { issuerOf } from './tenancy.ts'

export interface BootstrapInput {
  readonly slug: string
  readonly adminEmail: string
  readonly name?: string
  /** The host the organization answers on; default `<slug>.<PUBLIC_URL host>` unless it becomes the default. */
  readonly domain?: string
}

export interface BootstrapResult {
  readonly organization: { id: string; slug: string; name: string; issuer: string; is_default: boolean }
  readonly admin_user: { id: string; email: string; password: string }
  readonly admin_client: { client_id: string; client_secret: string; scope: string }
}

/** A bootstrap that cannot proceed; the message says why in terms of the input. */
export class BootstrapError extends Error {
  readonly code = 'ERR_BOOTSTRAP'
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const DOMAIN = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/
const EMAIL = /^[^\s@]+@[^\s@]+$/

/**
 * @throws BootstrapError for a malformed slug, email or domain, an existing slug or a
 *   claimed domain; nothing is written then.
 */
export async function bootstrapOrganization(
  db: Database,
  publicUrl: string,
  input: BootstrapInput,
): Promise<BootstrapResult> {
  if (!SLUG.test(input.slug)) {
    throw new BootstrapError(
      `--org '${input.slug}' is not a valid slug (lower-case letters, digits and inner hyphens, at most 63)`,
    )
  }
  if (!EMAIL.test(input.adminEmail) || input.adminEmail.length > 320) {
    throw new BootstrapError(`--admin-email '${input.adminEmail}' is not an email address`)
  }
  const existing = await db.withoutOrganization((q) => listOrganizations(q))
  if (existing.some((o) => o.slug === input.slug))
    throw new BootstrapError(`organization '${input.slug}' already exists`)
  const isDefault = !existing.some((o) => o.isDefault)
  const domain = (
    input.domain ?? (isDefault ? undefined : `${input.slug}.${new URL(publicUrl).hostname}`)
  )?.toLowerCase()
  if (domain !== undefined && !DOMAIN.test(domain))
    throw new BootstrapError(`--domain '${domain}' is not a host name`)

  const id = randomUUID()
  const password = randomPassword()
  const clientSecret = randomToken()
  const passwordHash = await hashPassword(password)
  const name = input.name ?? input.slug
  const system = { actorType: 'system' as const, actorId: 'bootstrap', result: 'success' as const }
  try {
    return await db.inOrganization(id, async (q) => {
      await insertOrganization(q, { id, slug: input.slug, name, isDefault })
      if (domain) await insertOrganizationDomain(q, { organizationId: id, domain, isPrimary: true })
      const user = await insertUser(q, id, {
        email: input.adminEmail,
        passwordHash,
        name: 'Administrator',
        emailVerified: true,
      })
      const app = await insertApplication(q, id, {
        clientId: randomToken(16),
        name: 'Admin API (bootstrap)',
        type: 'service',
        redirectUris: [],
        postLogoutRedirectUris: [],
        grantTypes: ['client_credentials'],
        allowedScopes: [...ADMIN_SCOPES],
        defaultScopes: null,
        allowedAudiences: [],
        tokenEndpointAuthMethod: 'client_secret_basic',
        jwks: null,
        jwksUri: null,
        idTokenSignedResponseAlg: null,
        accessTokenTtl: 600,
        firstParty: true,
        requirePushedAuthorizationRequests: false,
        authorizationDetailsTypes: [],
        refreshTokenPolicy: 'never',
        refreshTokenIdleTtl: 1_209_600,
        refreshTokenAbsoluteTtl: 2_592_000,
      })
      await insertApplicationSecret(q, id, app.id, digestOf(clientSecret))
      await insertAuditEvent(q, id, {
        ...system,
        action: 'organization.created',
        targetType: 'organization',
        targetId: id,
        details: { slug: input.slug, default: isDefault },
      })
      await insertAuditEvent(q, id, {
        ...system,
        action: 'user.created',
        targetType: 'user',
        targetId: user.id,
      })
      await insertAuditEvent(q, id, {
        ...system,
        action: 'application.created',
        targetType: 'application',
        targetId: app.id,
      })
      const issuer = issuerOf(
        { id, slug: input.slug, name, isDefault, settings: {}, primaryDomain: domain ?? null },
        publicUrl,
      )
      return {
        organization: { id, slug: input.slug, name, issuer, is_default: isDefault },
        admin_user: { id: user.id, email: input.adminEmail, password },
        admin_client: { client_id: app.clientId, client_secret: clientSecret, scope: ADMIN_SCOPES.join(' ') },
      }
    })
  } catch (err) {
    const e = err as { code?: string; constraint?: string }
    if (e.code === '23505' && e.constraint === 'organizations_slug_key')
      throw new BootstrapError(`organization '${input.slug}' already exists`)
    if (e.code === '23505' && e.constraint === 'organization_domains_pkey')
      throw new BootstrapError(`domain '${domain}' is already claimed by another organization`)
    if (e.code === '23505' && e.constraint === 'organizations_one_default')
      throw new BootstrapError(
        'another bootstrap created the default organization at the same time; run again',
      )
    throw err
  }
}
