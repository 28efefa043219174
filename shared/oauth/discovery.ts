/**
 * Authorization server metadata (RFC 8414) and OpenID Provider metadata (OpenID Connect
 * Discovery 1.0 §3), per organization, listing only what is really supported.
 */
import { jsonDocument, type PublicDocument, type RenderDocument } from '../http/documents.ts'
import { SIGNING_ALGS } from '../keys/generate.ts'
import { CLAIMS_SUPPORTED, STANDARD_SCOPES } from '../oidc/claims.ts'
import type { RequestScope } from '../request-scope.ts'
import type { Organization } from '../tenancy.ts'
import { ASSERTION_ALGS } from './client-authentication.ts'

export const GRANT_TYPES_SUPPORTED = ['authorization_code', 'client_credentials', 'refresh_token'] as const

export function serverMetadata(org: Organization): Record<string, unknown> {
  const url = (path: string) => `${org.issuer}${path}`
  const authenticated = ['client_secret_basic', 'client_secret_post', 'private_key_jwt']
  return {
    issuer: org.issuer,
    authorization_endpoint: url('/oauth/authorize'),
    token_endpoint: url('/oauth/token'),
    jwks_uri: url('/.well-known/jwks.json'),
    registration_endpoint: url('/oauth/register'),
    introspection_endpoint: url('/oauth/introspect'),
    revocation_endpoint: url('/oauth/revoke'),
    pushed_authorization_request_endpoint: url('/oauth/par'),
    require_pushed_authorization_requests: false,
    scopes_supported: [...STANDARD_SCOPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: [...GRANT_TYPES_SUPPORTED],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: [...authenticated, 'none'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    introspection_endpoint_auth_methods_supported: authenticated,
    introspection_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    // RFC 7009 §2.1: public clients revoke their own tokens with their client_id.
    revocation_endpoint_auth_methods_supported: [...authenticated, 'none'],
    revocation_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGS],
    authorization_response_iss_parameter_supported: true,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  }
}

export function openIdMetadata(org: Organization): Record<string, unknown> {
  return {
    ...serverMetadata(org),
    userinfo_endpoint: `${org.issuer}/oauth/userinfo`,
    end_session_endpoint: `${org.issuer}/oauth/logout`,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
    claims_supported: [...CLAIMS_SUPPORTED],
    claims_parameter_supported: false,
    prompt_values_supported: ['none', 'login', 'consent'],
    frontchannel_logout_supported: false,
    backchannel_logout_supported: false,
  }
}

const rendered = new WeakMap<Organization, Map<string, { types: string; doc: PublicDocument }>>()

/**
 * A metadata document (documents.ts), serialized once per cached organization and set of
 * authorization details types. Those types, the ones some application of the organization
 * accepts, are advertised when there are any (RFC 9396 §10).
 */
export function metadataDocument(
  name: string,
  build: (org: Organization) => Record<string, unknown>,
): RenderDocument<Pick<RequestScope, 'org' | 'runtime' | 'header'>> {
  return async ({ org, runtime }) => {
    const authorizationDetailsTypes = await runtime.clients.authorizationDetailsTypes(org.id)
    let docs = rendered.get(org)
    if (!docs) {
      docs = new Map()
      rendered.set(org, docs)
    }
    const types = authorizationDetailsTypes.join(' ')
    let entry = docs.get(name)
    if (entry?.types !== types) {
      const body = JSON.stringify({
        ...build(org),
        ...(authorizationDetailsTypes.length
          ? { authorization_details_types_supported: [...authorizationDetailsTypes] }
          : {}),
      })
      entry = { types, doc: jsonDocument(body, 300) }
      docs.set(name, entry)
    }
    return entry.doc
  }
}
