/** Standard claims by scope (OpenID Connect Core §5.4), for UserInfo. */
import type { User } from '../db/users.ts'

export const STANDARD_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'] as const

export const CLAIMS_SUPPORTED = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'amr',
  'sid',
  'azp',
  'at_hash',
  'name',
  'given_name',
  'family_name',
  'middle_name',
  'nickname',
  'preferred_username',
  'profile',
  'picture',
  'website',
  'gender',
  'birthdate',
  'zoneinfo',
  'locale',
  'updated_at',
  'email',
  'email_verified',
  'address',
  'phone_number',
  'phone_number_verified',
] as const

/** The claims the scopes grant; empty values are left out (Core §5.3.2). */
export function userClaims(user: User, scopes: readonly string[]): Record<string, unknown> {
  const claims: Record<string, unknown> = { sub: user.id }
  const p = user.profile
  if (scopes.includes('profile')) {
    Object.assign(claims, {
      name: user.name,
      given_name: user.givenName,
      family_name: user.familyName,
      middle_name: p.middle_name,
      nickname: p.nickname,
      preferred_username: p.preferred_username,
      profile: p.profile,
      picture: p.picture,
      website: p.website,
      gender: p.gender,
      birthdate: p.birthdate,
      zoneinfo: p.zoneinfo,
      locale: user.locale,
      updated_at: Math.floor(user.updatedAt.getTime() / 1000),
    })
  }
  if (scopes.includes('email'))
    Object.assign(claims, { email: user.email, email_verified: user.emailVerified })
  if (scopes.includes('address') && p.address) claims.address = p.address
  if (scopes.includes('phone') && user.phoneNumber) {
    Object.assign(claims, { phone_number: user.phoneNumber, phone_number_verified: user.phoneNumberVerified })
  }
  for (const [k, v] of Object.entries(claims)) if (v === null || v === undefined || v === '') delete claims[k]
  return claims
}
