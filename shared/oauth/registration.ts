/**
 * Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592): client
 * metadata to application settings and back. Clients without id_token_signed_response_alg
 * get RS256 (OpenID Connect Dynamic Client Registration §2).
 */
import * as z from 'zod'
import { type ApplicationSettings, RedirectUri, violations } from '../applications/schema.ts'
import type { Application } from '../db/applications.ts'
import { OAuthError } from '../http/errors.ts'
import { STANDARD_SCOPES } from '../oidc/claims.ts'

const Https = z.url({ protocol: /^https$/ }).max(2000)

const Metadata = z.object({
  redirect_uris: z.array(RedirectUri).min(1).max(20),
  post_logout_redirect_uris: z.array(RedirectUri).max(20).optional(),
  token_endpoint_auth_method: z
    .enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'])
    .optional(),
  grant_types: z
    .array(z.enum(['authorization_code', 'refresh_token']))
    .min(1)
    .optional(),
  response_types: z.array(z.literal('code')).min(1).optional(),
  client_name: z.string().trim().min(1).max(200).optional(),
  client_uri: Https.optional(),
  logo_uri: Https.optional(),
  tos_uri: Https.optional(),
  policy_uri: Https.optional(),
  contacts: z.array(z.email().max(320)).max(10).optional(),
  scope: z.string().max(1000).optional(),
  jwks_uri: Https.optional(),
  jwks: z
    .object({
      keys: z
        .array(z.looseObject({ kty: z.string() }))
        .min(1)
        .max(20),
    })
    .optional(),
  software_id: z.string().max(200).optional(),
  software_version: z.string().max(100).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  id_token_signed_response_alg: z.enum(['RS256', 'ES256', 'EdDSA']).optional(),
})

export type RegistrationMetadata = z.output<typeof Metadata>

const EXTRAS = [
  'client_uri',
  'logo_uri',
  'tos_uri',
  'policy_uri',
  'contacts',
  'software_id',
  'software_version',
  'application_type',
  'response_types',
] as const

/**
 * Reads client metadata; unknown members are ignored (RFC 7591 §2).
 * @throws OAuthError invalid_redirect_uri or invalid_client_metadata (RFC 7591 §3.2.2).
 */
export function parseRegistration(body: unknown): {
  settings: ApplicationSettings
  extras: Record<string, unknown>
} {
  const parsed = Metadata.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const field = String(issue.path[0] ?? 'metadata')
    const code =
      field === 'redirect_uris' || field === 'post_logout_redirect_uris'
        ? 'invalid_redirect_uri'
        : 'invalid_client_metadata'
    throw new OAuthError(code, `${[field, ...issue.path.slice(1)].join('.')}: ${issue.message}`)
  }
  const m = parsed.data
  const method = m.token_endpoint_auth_method ?? 'client_secret_basic'
  const scope = m.scope ? [...new Set(m.scope.split(' ').filter(Boolean))] : ['openid']
  const unknownScope = scope.find((s) => !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))
  if (unknownScope) throw new OAuthError('invalid_client_metadata', 'scope contains a malformed value')
  const settings: ApplicationSettings = {
    name: m.client_name ?? 'Registered client',
    type: method === 'none' ? 'public' : 'confidential',
    redirectUris: m.redirect_uris,
    postLogoutRedirectUris: m.post_logout_redirect_uris ?? [],
    grantTypes: m.grant_types ?? ['authorization_code'],
    allowedScopes: scope,
    defaultScopes: null,
    allowedAudiences: [],
    tokenEndpointAuthMethod: method,
    jwks: (m.jwks as ApplicationSettings['jwks']) ?? null,
    jwksUri: m.jwks_uri ?? null,
    idTokenSignedResponseAlg: m.id_token_signed_response_alg ?? 'RS256',
    accessTokenTtl: 600,
    firstParty: false,
    requirePushedAuthorizationRequests: false,
    authorizationDetailsTypes: [],
    refreshTokenPolicy: 'offline_access',
    refreshTokenIdleTtl: 14 * 86_400,
    refreshTokenAbsoluteTtl: 30 * 86_400,
  }
  const broken = violations(settings)[0]
  if (broken) {
    const code = broken.field === 'redirect_uris' ? 'invalid_redirect_uri' : 'invalid_client_metadata'
    throw new OAuthError(code, `${broken.field}: ${broken.message}`)
  }
  const extras = Object.fromEntries(EXTRAS.filter((k) => m[k] !== undefined).map((k) => [k, m[k]]))
  return { settings, extras }
}

/** Scopes a registered client may ask for: the standard ones (an admin can widen it later). */
export function checkRegistrationScopes(scope: readonly string[]): void {
  const refused = scope.find((s) => !(STANDARD_SCOPES as readonly string[]).includes(s))
  if (refused !== undefined)
    throw new OAuthError('invalid_client_metadata', `scope "${refused}" cannot be registered`)
}

/** The client information response (RFC 7591 §3.2.1, RFC 7592 §3). */
export function registrationResponse(
  app: Application,
  extras: Record<string, unknown>,
  issuer: string,
  secrets: { clientSecret?: string | undefined; registrationAccessToken?: string | undefined } = {},
) {
  return {
    client_id: app.clientId,
    ...(secrets.clientSecret ? { client_secret: secrets.clientSecret, client_secret_expires_at: 0 } : {}),
    client_id_issued_at: Math.floor(app.createdAt.getTime() / 1000),
    ...(secrets.registrationAccessToken
      ? { registration_access_token: secrets.registrationAccessToken }
      : {}),
    registration_client_uri: `${issuer}/oauth/register/${encodeURIComponent(app.clientId)}`,
    client_name: app.name,
    redirect_uris: app.redirectUris,
    post_logout_redirect_uris: app.postLogoutRedirectUris,
    token_endpoint_auth_method: app.tokenEndpointAuthMethod,
    grant_types: app.grantTypes,
    scope: app.allowedScopes.join(' '),
    ...(app.jwks ? { jwks: app.jwks } : {}),
    ...(app.jwksUri ? { jwks_uri: app.jwksUri } : {}),
    id_token_signed_response_alg: app.idTokenSignedResponseAlg ?? 'RS256',
    ...extras,
  }
}
