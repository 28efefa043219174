/**
 * Applications (OAuth clients) in the admin API: the request schemas, the rules that tie
 * fields together, and the JSON view. Field names follow RFC 7591 client metadata.
 */
import * as z from 'zod'
import type { Application } from '../db/applications.ts'

export const APPLICATION_TYPES = ['confidential', 'public', 'service'] as const
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const
export const ID_TOKEN_ALGS = ['RS256', 'ES256', 'EdDSA'] as const

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * A redirect URI: absolute, without fragment (RFC 6749 §3.1.2); https, or http on a loopback
 * host, or a private-use scheme of a native app (RFC 8252 §7.1, §7.3).
 */
export const RedirectUri = z
  .string()
  .max(2000)
  .superRefine((value, ctx) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URI' })
      return
    }
    if (value.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not contain a fragment' })
    else if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
      ctx.addIssue({ code: 'custom', message: 'must use https (http only on localhost, 127.0.0.1 or [::1])' })
    } else if (
      url.protocol !== 'https:' &&
      url.protocol !== 'http:' &&
      !/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(url.protocol)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: 'must use https, or a private-use scheme in reverse-domain form (RFC 8252 §7.1)',
      })
    }
  })

/** A URL's host name, or undefined for what is not a URL (a refinement must never throw). */
function hostnameOfUrl(value: string): string | undefined {
  try {
    return new URL(value).hostname
  } catch {
    return undefined
  }
}

const AbsoluteUri = z
  .string()
  .max(2000)
  .refine(
    (v) => {
      try {
        return !v.includes('#') && Boolean(new URL(v))
      } catch {
        return false
      }
    },
    { message: 'must be an absolute URI without a fragment' },
  )

const Scope = z.string().regex(SCOPE_TOKEN, { message: 'must be a scope token (RFC 6749 §3.3)' }).max(200)

const PublicJwk = z
  .looseObject({ kty: z.string() })
  .refine((k) => !('d' in k) && !('p' in k) && !('k' in k), {
    message: 'must be a public key (no private or symmetric members)',
  })

const unique = <T extends z.ZodType>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .refine((a) => new Set(a).size === a.length, { message: 'must not repeat a value' })

const fields = {
  name: z.string().trim().min(1).max(200),
  type: z.enum(APPLICATION_TYPES),
  redirect_uris: unique(RedirectUri, 20),
  post_logout_redirect_uris: unique(RedirectUri, 20),
  grant_types: unique(z.enum(GRANT_TYPES), 3),
  allowed_scopes: unique(Scope, 100),
  default_scopes: unique(Scope, 100).nullable(),
  allowed_audiences: unique(AbsoluteUri, 20),
  token_endpoint_auth_method: z.enum(AUTH_METHODS),
  jwks: z.strictObject({ keys: z.array(PublicJwk).min(1).max(20) }).nullable(),
  jwks_uri: AbsoluteUri.refine((v) => v.startsWith('https://') || LOOPBACK.has(hostnameOfUrl(v) ?? ''), {
    message: 'must use https',
  }).nullable(),
  id_token_signed_response_alg: z.enum(ID_TOKEN_ALGS).nullable(),
  access_token_ttl: z.number().int().min(30).max(86_400),
  first_party: z.boolean(),
  require_pushed_authorization_requests: z.boolean(),
  authorization_details_types: unique(
    z.string().regex(/^[\x21-\x7E]{1,100}$/, { message: 'must be a printable type name' }),
    20,
  ),
  refresh_token_policy: z.enum(['offline_access', 'always', 'never']),
  refresh_token_idle_ttl: z.number().int().min(60).max(31_536_000),
  refresh_token_absolute_ttl: z.number().int().min(60).max(31_536_000),
}

/** POST /api/v1/applications: name and type are required; the rest have defaults by type. */
export const CreateApplication = z.strictObject({
  name: fields.name,
  type: fields.type,
  redirect_uris: fields.redirect_uris.optional(),
  post_logout_redirect_uris: fields.post_logout_redirect_uris.optional(),
  grant_types: fields.grant_types.optional(),
  allowed_scopes: fields.allowed_scopes.optional(),
  default_scopes: fields.default_scopes.optional(),
  allowed_audiences: fields.allowed_audiences.optional(),
  token_endpoint_auth_method: fields.token_endpoint_auth_method.optional(),
  jwks: fields.jwks.optional(),
  jwks_uri: fields.jwks_uri.optional(),
  id_token_signed_response_alg: fields.id_token_signed_response_alg.optional(),
  access_token_ttl: fields.access_token_ttl.optional(),
  first_party: fields.first_party.optional(),
  require_pushed_authorization_requests: fields.require_pushed_authorization_requests.optional(),
  authorization_details_types: fields.authorization_details_types.optional(),
  refresh_token_policy: fields.refresh_token_policy.optional(),
  refresh_token_idle_ttl: fields.refresh_token_idle_ttl.optional(),
  refresh_token_absolute_ttl: fields.refresh_token_absolute_ttl.optional(),
})
export type CreateApplication = z.output<typeof CreateApplication>

/** PATCH /api/v1/applications/:id: any field but the type; null clears a nullable one. */
export const UpdateApplication = CreateApplication.omit({ type: true })
  .partial()
  .extend({ is_active: z.boolean().optional() })
  .refine((v) => Object.keys(v).length > 0, { message: 'must change at least one field' })
export type UpdateApplication = z.output<typeof UpdateApplication>

/** Every field of an application, as stored: what the rules below check. */
export type ApplicationSettings = Omit<
  Application,
  'id' | 'organizationId' | 'clientId' | 'createdAt' | 'updatedAt' | 'isActive'
>

/** Defaults for what a create request leaves out, by application type. */
export function withDefaults(input: CreateApplication): ApplicationSettings {
  const service = input.type === 'service'
  return {
    name: input.name,
    type: input.type,
    redirectUris: input.redirect_uris ?? [],
    postLogoutRedirectUris: input.post_logout_redirect_uris ?? [],
    grantTypes:
      input.grant_types ?? (service ? ['client_credentials'] : ['authorization_code', 'refresh_token']),
    allowedScopes: input.allowed_scopes ?? (service ? [] : ['openid', 'profile', 'email']),
    defaultScopes: input.default_scopes ?? null,
    allowedAudiences: input.allowed_audiences ?? [],
    tokenEndpointAuthMethod:
      input.token_endpoint_auth_method ?? (input.type === 'public' ? 'none' : 'client_secret_basic'),
    jwks: (input.jwks as ApplicationSettings['jwks']) ?? null,
    jwksUri: input.jwks_uri ?? null,
    idTokenSignedResponseAlg: input.id_token_signed_response_alg ?? null,
    accessTokenTtl: input.access_token_ttl ?? 600,
    firstParty: input.first_party ?? false,
    requirePushedAuthorizationRequests: input.require_pushed_authorization_requests ?? false,
    authorizationDetailsTypes: input.authorization_details_types ?? [],
    refreshTokenPolicy: input.refresh_token_policy ?? 'offline_access',
    refreshTokenIdleTtl: input.refresh_token_idle_ttl ?? 14 * 86_400,
    refreshTokenAbsoluteTtl: input.refresh_token_absolute_ttl ?? 30 * 86_400,
  }
}

/** A patch applied to the stored settings. */
export function applyPatch(current: ApplicationSettings, patch: UpdateApplication): ApplicationSettings {
  return {
    ...current,
    ...(patch.name !== undefined && { name: patch.name }),
    ...(patch.redirect_uris !== undefined && { redirectUris: patch.redirect_uris }),
    ...(patch.post_logout_redirect_uris !== undefined && {
      postLogoutRedirectUris: patch.post_logout_redirect_uris,
    }),
    ...(patch.grant_types !== undefined && { grantTypes: patch.grant_types }),
    ...(patch.allowed_scopes !== undefined && { allowedScopes: patch.allowed_scopes }),
    ...(patch.default_scopes !== undefined && { defaultScopes: patch.default_scopes }),
    ...(patch.allowed_audiences !== undefined && { allowedAudiences: patch.allowed_audiences }),
    ...(patch.token_endpoint_auth_method !== undefined && {
      tokenEndpointAuthMethod: patch.token_endpoint_auth_method,
    }),
    ...(patch.jwks !== undefined && { jwks: patch.jwks as ApplicationSettings['jwks'] }),
    ...(patch.jwks_uri !== undefined && { jwksUri: patch.jwks_uri }),
    ...(patch.id_token_signed_response_alg !== undefined && {
      idTokenSignedResponseAlg: patch.id_token_signed_response_alg,
    }),
    ...(patch.access_token_ttl !== undefined && { accessTokenTtl: patch.access_token_ttl }),
    ...(patch.first_party !== undefined && { firstParty: patch.first_party }),
    ...(patch.require_pushed_authorization_requests !== undefined && {
      requirePushedAuthorizationRequests: patch.require_pushed_authorization_requests,
    }),
    ...(patch.authorization_details_types !== undefined && {
      authorizationDetailsTypes: patch.authorization_details_types,
    }),
    ...(patch.refresh_token_policy !== undefined && { refreshTokenPolicy: patch.refresh_token_policy }),
    ...(patch.refresh_token_idle_ttl !== undefined && { refreshTokenIdleTtl: patch.refresh_token_idle_ttl }),
    ...(patch.refresh_token_absolute_ttl !== undefined && {
      refreshTokenAbsoluteTtl: patch.refresh_token_absolute_ttl,
    }),
  }
}

export interface Violation {
  readonly field: string
  readonly message: string
}

/** The rules across fields (RFC 6749 §2.1, §4.4; RFC 7591 §2). */
export function violations(a: ApplicationSettings): Violation[] {
  const out: Violation[] = []
  const add = (field: string, message: string) => out.push({ field, message })
  if (a.type === 'public') {
    if (a.tokenEndpointAuthMethod !== 'none')
      add('token_endpoint_auth_method', 'must be none for a public application')
    if (a.grantTypes.includes('client_credentials'))
      add('grant_types', 'client_credentials needs a confidential client')
  } else if (a.tokenEndpointAuthMethod === 'none') {
    add('token_endpoint_auth_method', `must authenticate: none is only for public applications`)
  }
  if (a.type === 'service') {
    if (a.grantTypes.some((g) => g !== 'client_credentials'))
      add('grant_types', 'a service application uses client_credentials only')
    if (a.redirectUris.length) add('redirect_uris', 'a service application has no redirect URIs')
  }
  if (a.grantTypes.includes('authorization_code') && a.redirectUris.length === 0) {
    add('redirect_uris', 'authorization_code needs at least one redirect URI')
  }
  if (a.grantTypes.includes('refresh_token') && !a.grantTypes.includes('authorization_code')) {
    add('grant_types', 'refresh_token comes with authorization_code')
  }
  if (a.grantTypes.length === 0) add('grant_types', 'must name at least one grant type')
  if (a.tokenEndpointAuthMethod === 'private_key_jwt') {
    if (!a.jwks === !a.jwksUri) add('jwks', 'private_key_jwt needs exactly one of jwks and jwks_uri')
  } else if (a.jwks || a.jwksUri) {
    add('jwks', 'jwks and jwks_uri are for private_key_jwt')
  }
  if (a.refreshTokenIdleTtl > a.refreshTokenAbsoluteTtl) {
    add('refresh_token_idle_ttl', 'must not exceed refresh_token_absolute_ttl')
  }
  if (a.type === 'service' && a.requirePushedAuthorizationRequests) {
    add('require_pushed_authorization_requests', 'a service application has no authorization requests')
  }
  const stray = a.defaultScopes?.find((s) => !a.allowedScopes.includes(s))
  if (stray !== undefined) add('default_scopes', `"${stray}" is not among allowed_scopes`)
  return out
}

export function usesSecret(a: Pick<ApplicationSettings, 'tokenEndpointAuthMethod'>): boolean {
  return (
    a.tokenEndpointAuthMethod === 'client_secret_basic' || a.tokenEndpointAuthMethod === 'client_secret_post'
  )
}

/** The JSON view of an application. Secrets never appear here. */
export function applicationView(a: Application) {
  return {
    id: a.id,
    client_id: a.clientId,
    name: a.name,
    type: a.type,
    redirect_uris: a.redirectUris,
    post_logout_redirect_uris: a.postLogoutRedirectUris,
    grant_types: a.grantTypes,
    allowed_scopes: a.allowedScopes,
    default_scopes: a.defaultScopes,
    allowed_audiences: a.allowedAudiences,
    token_endpoint_auth_method: a.tokenEndpointAuthMethod,
    jwks: a.jwks,
    jwks_uri: a.jwksUri,
    id_token_signed_response_alg: a.idTokenSignedResponseAlg,
    access_token_ttl: a.accessTokenTtl,
    first_party: a.firstParty,
    require_pushed_authorization_requests: a.requirePushedAuthorizationRequests,
    authorization_details_types: a.authorizationDetailsTypes,
    refresh_token_policy: a.refreshTokenPolicy,
    refresh_token_idle_ttl: a.refreshTokenIdleTtl,
    refresh_token_absolute_ttl: a.refreshTokenAbsoluteTtl,
    is_active: a.isActive,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  }
}

/** The JSON shape of applicationView, for the OpenAPI document. */
export const ApplicationResource = z.object({
  id: z.uuid(),
  client_id: z.string(),
  name: z.string(),
  type: z.enum(APPLICATION_TYPES),
  redirect_uris: z.array(z.string()),
  post_logout_redirect_uris: z.array(z.string()),
  grant_types: z.array(z.enum(GRANT_TYPES)),
  allowed_scopes: z.array(z.string()),
  default_scopes: z.array(z.string()).nullable(),
  allowed_audiences: z.array(z.string()),
  token_endpoint_auth_method: z.enum(AUTH_METHODS),
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).nullable(),
  jwks_uri: z.string().nullable(),
  id_token_signed_response_alg: z.enum(ID_TOKEN_ALGS).nullable(),
  access_token_ttl: z.number().int(),
  first_party: z.boolean(),
  require_pushed_authorization_requests: z.boolean(),
  authorization_details_types: z.array(z.string()),
  refresh_token_policy: z.enum(['offline_access', 'always', 'never']),
  refresh_token_idle_ttl: z.number().int(),
  refresh_token_absolute_ttl: z.number().int(),
  is_active: z.boolean(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
})

/** A response that shows a secret, once. */
export const ApplicationWithSecret = ApplicationResource.extend({
  client_secret: z.string().optional().describe('Shown once; only its SHA-256 digest is stored.'),
})

export const ApplicationParams = z.object({ id: z.uuid() })
