/** Scopes (RFC 6749 §3.3) and resource indicators (RFC 8707). */
import { OAuthError } from '../http/errors.ts'

// scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/**
 * The scopes of a `scope` parameter, in order, without repeats.
 * @throws OAuthError invalid_scope for a malformed scope.
 */
export function parseScope(scope: string | undefined): string[] {
  if (scope === undefined) return []
  const tokens = scope.split(' ').filter(Boolean)
  const bad = tokens.find((t) => !SCOPE_TOKEN.test(t))
  if (bad !== undefined) throw new OAuthError('invalid_scope', `scope contains a malformed value`)
  return [...new Set(tokens)]
}

/**
 * The scopes to grant: those requested, each of which must be allowed, or the defaults.
 * @throws OAuthError invalid_scope naming the first scope not allowed.
 */
export function grantedScopes(
  requested: readonly string[],
  allowed: readonly string[],
  defaults: readonly string[] | null,
): string[] {
  if (requested.length === 0) return [...(defaults ?? allowed)]
  const refused = requested.find((s) => !allowed.includes(s))
  if (refused !== undefined)
    throw new OAuthError('invalid_scope', `scope "${refused}" is not allowed for this client`)
  return [...requested]
}

/**
 * The audience of a token: the resources requested (RFC 8707 §2), each an absolute URI
 * without fragment among the client's allowed audiences; without any, all allowed audiences,
 * or the issuer when the client has none (its APIs, such as the admin API, are the audience).
 * @throws OAuthError invalid_target for a malformed or not allowed resource.
 */
export function audienceFor(
  resources: readonly string[] | undefined,
  allowed: readonly string[],
  issuer: string,
): string | string[] {
  if (!resources || resources.length === 0) {
    if (allowed.length === 0) return issuer
    return allowed.length === 1 ? allowed[0]! : [...allowed]
  }
  for (const r of resources) {
    let url: URL | undefined
    try {
      url = new URL(r)
    } catch {
      url = undefined
    }
    if (!url || url.hash || r.includes('#'))
      throw new OAuthError('invalid_target', 'resource must be an absolute URI without a fragment')
    if (!allowed.includes(r))
      throw new OAuthError('invalid_target', `resource "${r}" is not an allowed audience of this client`)
  }
  const unique = [...new Set(resources)]
  return unique.length === 1 ? unique[0]! : unique
}
