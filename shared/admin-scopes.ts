/**
 * Scopes of the admin API (admin plane). A bearer access token issued by the organization
 * must carry the scope an endpoint names; the bootstrap client gets all of them. A scope is
 * listed only once an endpoint asks for it (`audit:read` arrives with the audit log's API).
 */
export const ADMIN_SCOPES = [
  'applications:read',
  'applications:write',
  'users:read',
  'users:write',
  'keys:write',
  'organization:read',
  'organization:write',
] as const

export type AdminScope = (typeof ADMIN_SCOPES)[number]
