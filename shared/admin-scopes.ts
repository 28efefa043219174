/**
 * Scopes of the admin API (admin plane). A bearer access token issued by the organization
 * must carry the scope an endpoint names; the bootstrap client gets all of them.
 */
export const ADMIN_SCOPES = [
  'applications:read',
  'applications:write',
  'users:read',
  'users:write',
  'keys:write',
  'audit:read',
  'organization:read',
  'organization:write',
] as const

export type AdminScope = (typeof ADMIN_SCOPES)[number]
