/** SQL for applications (OAuth clients) and their secrets. */
import type { Queryable } from './database.ts'

export type ApplicationType = 'confidential' | 'public' | 'service'
export type TokenEndpointAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'none'
export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA'

export interface Application {
  readonly id: string
  readonly organizationId: string
  readonly clientId: string
  readonly name: string
  readonly type: ApplicationType
  readonly redirectUris: readonly string[]
  readonly postLogoutRedirectUris: readonly string[]
  readonly grantTypes: readonly string[]
  readonly allowedScopes: readonly string[]
  /** null: a request without `scope` gets every allowed scope. */
  readonly defaultScopes: readonly string[] | null
  readonly allowedAudiences: readonly string[]
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod
  readonly jwks: { keys: Record<string, unknown>[] } | null
  readonly jwksUri: string | null
  readonly idTokenSignedResponseAlg: SigningAlg | null
  readonly accessTokenTtl: number
  readonly firstParty: boolean
  readonly requirePushedAuthorizationRequests: boolean
  readonly authorizationDetailsTypes: readonly string[]
  readonly refreshTokenPolicy: RefreshTokenPolicy
  readonly refreshTokenIdleTtl: number
  readonly refreshTokenAbsoluteTtl: number
  readonly isActive: boolean
  readonly createdAt: Date
  readonly updatedAt: Date
}

export type RefreshTokenPolicy = 'offline_access' | 'always' | 'never'

export type NewApplication = Omit<
  Application,
  'id' | 'organizationId' | 'isActive' | 'createdAt' | 'updatedAt'
>

interface ApplicationRecord {
  id: string
  organization_id: string
  client_id: string
  name: string
  type: ApplicationType
  redirect_uris: string[]
  post_logout_redirect_uris: string[]
  grant_types: string[]
  allowed_scopes: string[]
  default_scopes: string[] | null
  allowed_audiences: string[]
  token_endpoint_auth_method: TokenEndpointAuthMethod
  jwks: { keys: Record<string, unknown>[] } | null
  jwks_uri: string | null
  id_token_signed_response_alg: SigningAlg | null
  access_token_ttl: number
  first_party: boolean
  require_pushed_authorization_requests: boolean
  authorization_details_types: string[]
  refresh_token_policy: RefreshTokenPolicy
  refresh_token_idle_ttl: number
  refresh_token_absolute_ttl: number
  is_active: boolean
  created_at: Date
  updated_at: Date
}

export const toApplication = (r: ApplicationRecord): Application => ({
  id: r.id,
  organizationId: r.organization_id,
  clientId: r.client_id,
  name: r.name,
  type: r.type,
  redirectUris: r.redirect_uris,
  postLogoutRedirectUris: r.post_logout_redirect_uris,
  grantTypes: r.grant_types,
  allowedScopes: r.allowed_scopes,
  defaultScopes: r.default_scopes,
  allowedAudiences: r.allowed_audiences,
  tokenEndpointAuthMethod: r.token_endpoint_auth_method,
  jwks: r.jwks,
  jwksUri: r.jwks_uri,
  idTokenSignedResponseAlg: r.id_token_signed_response_alg,
  accessTokenTtl: r.access_token_ttl,
  firstParty: r.first_party,
  requirePushedAuthorizationRequests: r.require_pushed_authorization_requests,
  authorizationDetailsTypes: r.authorization_details_types,
  refreshTokenPolicy: r.refresh_token_policy,
  refreshTokenIdleTtl: r.refresh_token_idle_ttl,
  refreshTokenAbsoluteTtl: r.refresh_token_absolute_ttl,
  isActive: r.is_active,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export async function insertApplication(
  q: Queryable,
  organizationId: string,
  app: NewApplication,
): Promise<Application> {
  const { rows } = await q.query<ApplicationRecord>(
    `INSERT INTO applications (organization_id, client_id, name, type, redirect_uris, post_logout_redirect_uris,
       grant_types, allowed_scopes, default_scopes, allowed_audiences, token_endpoint_auth_method, jwks, jwks_uri,
       id_token_signed_response_alg, access_token_ttl, first_party, require_pushed_authorization_requests,
       authorization_details_types, refresh_token_policy, refresh_token_idle_ttl, refresh_token_absolute_ttl)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
     RETURNING *`,
    [
      organizationId,
      app.clientId,
      app.name,
      app.type,
      app.redirectUris,
      app.postLogoutRedirectUris,
      app.grantTypes,
      app.allowedScopes,
      app.defaultScopes,
      app.allowedAudiences,
      app.tokenEndpointAuthMethod,
      app.jwks,
      app.jwksUri,
      app.idTokenSignedResponseAlg,
      app.accessTokenTtl,
      app.firstParty,
      app.requirePushedAuthorizationRequests,
      app.authorizationDetailsTypes,
      app.refreshTokenPolicy,
      app.refreshTokenIdleTtl,
      app.refreshTokenAbsoluteTtl,
    ],
  )
  return toApplication(rows[0]!)
}

export async function insertApplicationSecret(
  q: Queryable,
  organizationId: string,
  applicationId: string,
  digest: Buffer,
): Promise<void> {
  await q.query(
    'INSERT INTO application_secrets (organization_id, application_id, digest) VALUES ($1, $2, $3)',
    [organizationId, applicationId, digest],
  )
}

export interface SecretDigest {
  readonly digest: Buffer
  readonly expiresAt: Date | null
}

/** The authorization_details types (RFC 9396) at least one of the organization's applications accepts. */
export async function listAuthorizationDetailsTypes(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ type: string }>(
    'SELECT DISTINCT t AS type FROM applications, unnest(authorization_details_types) AS t ORDER BY t',
  )
  return rows.map((r) => r.type)
}

/**
 * An application by client_id, with its secrets still valid (current and in grace), and
 * whether it was registered dynamically (RFC 7591: it has a registration access token).
 */
export async function findApplicationByClientId(
  q: Queryable,
  clientId: string,
): Promise<
  { application: Application; secrets: SecretDigest[]; dynamicallyRegistered: boolean } | undefined
> {
  const { rows } = await q.query<
    ApplicationRecord & {
      secrets: { digest: string; expires_at: string | null }[]
      registration_access_token_digest: Buffer | null
    }
  >(
    `SELECT a.*, coalesce(
        (SELECT json_agg(json_build_object('digest', encode(s.digest, 'hex'), 'expires_at', s.expires_at))
           FROM application_secrets s
          WHERE s.application_id = a.id AND (s.expires_at IS NULL OR s.expires_at > now())),
        '[]') AS secrets
       FROM applications a WHERE a.client_id = $1`,
    [clientId],
  )
  const row = rows[0]
  if (!row) return undefined
  return {
    application: toApplication(row),
    secrets: row.secrets.map((s) => ({
      digest: Buffer.from(s.digest, 'hex'),
      expiresAt: s.expires_at ? new Date(s.expires_at) : null,
    })),
    dynamicallyRegistered: row.registration_access_token_digest !== null,
  }
}

/**
 * An application by id. `forUpdate` locks the row until the transaction ends: a
 * read-modify-write then cannot lose a concurrent change, nor write to an application
 * deleted in between.
 */
export async function findApplicationById(
  q: Queryable,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<Application | undefined> {
  const { rows } = await q.query<ApplicationRecord>(
    options.forUpdate
      ? 'SELECT * FROM applications WHERE id = $1 FOR UPDATE'
      : 'SELECT * FROM applications WHERE id = $1',
    [id],
  )
  return rows[0] && toApplication(rows[0])
}

/**
 * One page in creation order, after the position `after`. Positions carry created_at to the
 * microsecond as PostgreSQL stores it (a JavaScript Date would round it to milliseconds and
 * repeat rows across pages).
 */
export async function listApplications(
  q: Queryable,
  page: { limit: number; after?: { at: string; id: string } | undefined },
): Promise<{ application: Application; position: { at: string; id: string } }[]> {
  const position = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position_at`
  const { rows } = page.after
    ? await q.query<ApplicationRecord & { position_at: string }>(
        `SELECT *, ${position} FROM applications WHERE (created_at, id) > ($1::timestamptz, $2) ORDER BY created_at, id LIMIT $3`,
        [page.after.at, page.after.id, page.limit],
      )
    : await q.query<ApplicationRecord & { position_at: string }>(
        `SELECT *, ${position} FROM applications ORDER BY created_at, id LIMIT $1`,
        [page.limit],
      )
  return rows.map((r) => ({ application: toApplication(r), position: { at: r.position_at, id: r.id } }))
}

/** Replaces every setting of an application; returns it as stored. */
export async function updateApplication(
  q: Queryable,
  id: string,
  app: Omit<NewApplication, 'clientId'> & { isActive: boolean },
): Promise<Application | undefined> {
  const { rows } = await q.query<ApplicationRecord>(
    `UPDATE applications SET name = $2, redirect_uris = $3, post_logout_redirect_uris = $4, grant_types = $5,
       allowed_scopes = $6, default_scopes = $7, allowed_audiences = $8, token_endpoint_auth_method = $9, jwks = $10,
       jwks_uri = $11, id_token_signed_response_alg = $12, access_token_ttl = $13, first_party = $14, is_active = $15,
       require_pushed_authorization_requests = $16, authorization_details_types = $17, refresh_token_policy = $18,
       refresh_token_idle_ttl = $19, refresh_token_absolute_ttl = $20, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [
      id,
      app.name,
      app.redirectUris,
      app.postLogoutRedirectUris,
      app.grantTypes,
      app.allowedScopes,
      app.defaultScopes,
      app.allowedAudiences,
      app.tokenEndpointAuthMethod,
      app.jwks,
      app.jwksUri,
      app.idTokenSignedResponseAlg,
      app.accessTokenTtl,
      app.firstParty,
      app.isActive,
      app.requirePushedAuthorizationRequests,
      app.authorizationDetailsTypes,
      app.refreshTokenPolicy,
      app.refreshTokenIdleTtl,
      app.refreshTokenAbsoluteTtl,
    ],
  )
  return rows[0] && toApplication(rows[0])
}

export async function deleteApplication(q: Queryable, id: string): Promise<Application | undefined> {
  const { rows } = await q.query<ApplicationRecord>('DELETE FROM applications WHERE id = $1 RETURNING *', [
    id,
  ])
  return rows[0] && toApplication(rows[0])
}

/**
 * Ends the secrets of a rotation: the secret current until now stays valid until
 * `currentUntil` (the grace period), and any older secret still in its own grace ends now, so
 * at most two secrets are ever valid, whatever the number of rotations. Counts each kind.
 */
export async function expireApplicationSecrets(
  q: Queryable,
  applicationId: string,
  currentUntil: Date,
): Promise<{ current: number; earlier: number }> {
  const { rows } = await q.query<{ current: number; earlier: number }>(
    `WITH valid AS (
       SELECT id, expires_at IS NULL AS current FROM application_secrets
        WHERE application_id = $1 AND (expires_at IS NULL OR expires_at > now())
     ), ended AS (
       UPDATE application_secrets s SET expires_at = CASE WHEN valid.current THEN $2 ELSE now() END
         FROM valid WHERE s.id = valid.id
       RETURNING valid.current
     )
     SELECT count(*) FILTER (WHERE current)::int AS current, count(*) FILTER (WHERE NOT current)::int AS earlier
       FROM ended`,
    [applicationId, currentUntil],
  )
  return rows[0] ?? { current: 0, earlier: 0 }
}

/** Names of applications by client_id (for pages listing them). */
export async function findApplicationNames(
  q: Queryable,
  clientIds: readonly string[],
): Promise<Map<string, string>> {
  if (clientIds.length === 0) return new Map()
  const { rows } = await q.query<{ client_id: string; name: string }>(
    'SELECT client_id, name FROM applications WHERE client_id = ANY($1)',
    [clientIds],
  )
  return new Map(rows.map((r) => [r.client_id, r.name]))
}

export async function setClientRegistration(
  q: Queryable,
  id: string,
  registration: { tokenDigest: Buffer; metadata: Record<string, unknown> },
): Promise<void> {
  await q.query(
    'UPDATE applications SET registration_access_token_digest = $2, client_metadata = $3 WHERE id = $1',
    [id, registration.tokenDigest, registration.metadata],
  )
}

export async function setClientMetadata(
  q: Queryable,
  id: string,
  metadata: Record<string, unknown>,
): Promise<void> {
  await q.query('UPDATE applications SET client_metadata = $2 WHERE id = $1', [id, metadata])
}

/** A dynamically registered client with its registration access token digest and metadata. */
export async function findRegisteredClient(
  q: Queryable,
  clientId: string,
): Promise<{ application: Application; tokenDigest: Buffer; metadata: Record<string, unknown> } | undefined> {
  const { rows } = await q.query<
    ApplicationRecord & {
      registration_access_token_digest: Buffer | null
      client_metadata: Record<string, unknown>
    }
  >('SELECT * FROM applications WHERE client_id = $1 AND registration_access_token_digest IS NOT NULL', [
    clientId,
  ])
  const r = rows[0]
  return (
    r && {
      application: toApplication(r),
      tokenDigest: r.registration_access_token_digest!,
      metadata: r.client_metadata,
    }
  )
}
