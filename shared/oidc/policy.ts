/**
 * Lifetimes and limits of the OpenID Connect flows, per organization: its settings where it
 * has them, these defaults otherwise.
 */
import type { Organization } from '../tenancy.ts'

export const DEFAULTS = {
  sessionIdleSeconds: 8 * 3600,
  sessionMaxSeconds: 24 * 3600,
  authorizationCodeSeconds: 60,
  interactionSeconds: 600,
  pushedRequestSeconds: 60,
  idTokenSeconds: 3600,
  loginPerIpPerMinute: 10,
  loginPerAccountPerMinute: 30,
  lockoutThreshold: 5,
  lockoutBaseSeconds: 30,
  lockoutMaxSeconds: 900,
  refreshPerFamilyPerMinute: 60,
  registrationsPerIpPerHour: 20,
} as const

export type Policy = { -readonly [K in keyof typeof DEFAULTS]: number }

const SETTING_NAMES: Record<string, keyof Policy> = {
  session_idle_seconds: 'sessionIdleSeconds',
  session_max_seconds: 'sessionMaxSeconds',
  login_per_ip_per_minute: 'loginPerIpPerMinute',
  login_per_account_per_minute: 'loginPerAccountPerMinute',
  lockout_threshold: 'lockoutThreshold',
  refresh_per_family_per_minute: 'refreshPerFamilyPerMinute',
}

// Per organization object, worked out once: the directory replaces the object (and so the
// entry) when the organization's settings change.
const policies = new WeakMap<Organization, Readonly<Policy>>()

export function policyOf(org: Organization): Readonly<Policy> {
  let policy = policies.get(org)
  if (!policy) {
    const fresh: Policy = { ...DEFAULTS }
    for (const [setting, key] of Object.entries(SETTING_NAMES)) {
      const value = org.settings[setting]
      if (typeof value === 'number' && Number.isInteger(value) && value > 0) fresh[key] = value
    }
    policy = Object.freeze(fresh)
    policies.set(org, policy)
  }
  return policy
}

/** Dynamic client registration: open, or only with an initial access token (the default). */
export function registrationPolicy(org: Organization): 'open' | 'initial_access_token' {
  return org.settings.registration_policy === 'open' ? 'open' : 'initial_access_token'
}
