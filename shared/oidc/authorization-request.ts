/**
 * Authorization requests: RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, PKCE (RFC 7636,
 * S256 only), resource indicators (RFC 8707), rich authorization requests (RFC 9396).
 *
 * Until the client and its redirect URI are known good, errors are shown to the person and
 * never redirected (RFC 6749 §4.1.2.1); after that they go back to the client.
 */
import { HttpError, OAuthError, type OAuthErrorCode } from '../http/errors.ts'
import { formatPath, jsonProblem } from '../http/parse-request.ts'
import type { Client } from '../oauth/clients.ts'
import { audienceFor, grantedScopes, parseScope } from '../oauth/scopes.ts'

export type ResponseMode = 'query' | 'form_post'

export interface AuthorizationRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly responseMode: ResponseMode
  readonly scope: readonly string[]
  readonly state?: string | undefined
  readonly nonce?: string | undefined
  readonly codeChallenge?: string | undefined
  readonly prompt: readonly string[]
  readonly maxAge?: number | undefined
  readonly loginHint?: string | undefined
  readonly idTokenHint?: string | undefined
  readonly acrValues?: readonly string[] | undefined
  readonly resource?: readonly string[] | undefined
  readonly authorizationDetails?: readonly AuthorizationDetail[] | undefined
}

export interface AuthorizationDetail {
  readonly type: string
  readonly [field: string]: unknown
}

export type Parameters = Readonly<Record<string, string | readonly string[] | undefined>>

/** An error to show the person: the client or redirect URI cannot be trusted with it. */
export class AuthorizationPageError extends HttpError {
  constructor(detail: string) {
    super(400, 'invalid_request', detail)
  }
}

/** An error to send back to the client's redirect URI (RFC 6749 §4.1.2.1). */
export class AuthorizationRedirectError extends OAuthError {
  readonly target: { redirectUri: string; state: string | undefined; responseMode: ResponseMode }
  constructor(code: OAuthErrorCode, description: string, target: AuthorizationRedirectError['target']) {
    super(code, description, { status: 303 })
    this.target = target
  }
}

const PROMPTS = new Set(['none', 'login', 'consent'])
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43,128}$/

const one = (params: Parameters, name: string): string | undefined => {
  const v = params[name]
  return typeof v === 'string' ? v : v?.[0]
}

/**
 * The client and redirect URI of a request, checked first.
 * @throws AuthorizationPageError when either is missing, unknown or not registered.
 */
export function checkClientAndRedirect(
  params: Parameters,
  client: Client | undefined,
): { client: Client; redirectUri: string } {
  if (!one(params, 'client_id'))
    throw new AuthorizationPageError('The request does not name a client (client_id).')
  if (!client?.isActive) throw new AuthorizationPageError('The application that sent you here is not known.')
  const redirectUri = one(params, 'redirect_uri')
  if (!redirectUri) throw new AuthorizationPageError('The request has no redirect_uri.')
  // Exact match, character for character (RFC 9700 §4.1.3): no prefix, no normalization.
  if (!client.redirectUris.includes(redirectUri)) {
    throw new AuthorizationPageError('The redirect_uri is not registered for this application.')
  }
  return { client, redirectUri }
}

/** The longest state echoed to a redirect URI. */
export const MAX_STATE = 2048

/**
 * Validates the rest of a request whose client and redirect URI passed.
 * @throws AuthorizationPageError for a state too long to echo; AuthorizationRedirectError for
 *   anything else wrong with it.
 */
export function validateAuthorizationRequest(
  params: Parameters,
  client: Client,
  redirectUri: string,
  options: { issuer: string; pushed: boolean },
): AuthorizationRequest {
  const state = one(params, 'state')
  // The state goes back in the redirect: one too long to send safely (a Location header
  // proxies and browsers refuse) is answered on the error page, not at the redirect URI.
  if (state !== undefined && state.length > MAX_STATE)
    throw new AuthorizationPageError(`The request's state is too long (more than ${MAX_STATE} characters).`)
  const modeParam = one(params, 'response_mode')
  const responseMode: ResponseMode = modeParam === 'form_post' ? 'form_post' : 'query'
  const fail = (code: OAuthErrorCode, description: string): never => {
    throw new AuthorizationRedirectError(code, description, { redirectUri, state, responseMode })
  }
  if (modeParam !== undefined && modeParam !== 'query' && modeParam !== 'form_post') {
    fail('invalid_request', 'response_mode must be query or form_post')
  }
  const responseType = one(params, 'response_type')
  if (!responseType) fail('invalid_request', 'response_type is required')
  if (responseType !== 'code') fail('unsupported_response_type', 'only response_type=code is supported')
  if (!client.grantTypes.includes('authorization_code')) {
    fail('unauthorized_client', 'this client may not use the authorization code flow')
  }
  if (one(params, 'request') !== undefined) fail('request_not_supported', 'request objects are not supported')
  if (client.requirePushedAuthorizationRequests && !options.pushed) {
    fail('invalid_request', 'this client must push its authorization requests (RFC 9126)')
  }

  let scope: string[] = []
  try {
    scope = grantedScopes(parseScope(one(params, 'scope')), client.allowedScopes, null)
  } catch (err) {
    fail('invalid_scope', (err as Error).message)
  }
  if (!one(params, 'scope')) scope = [...(client.defaultScopes ?? [])]

  const method = one(params, 'code_challenge_method')
  const codeChallenge = one(params, 'code_challenge')
  if (codeChallenge !== undefined || method !== undefined) {
    // RFC 9700 §2.1.1: plain (the RFC 7636 default) is refused.
    if (method !== 'S256') fail('invalid_request', 'code_challenge_method must be S256')
    if (!codeChallenge || !CODE_CHALLENGE.test(codeChallenge))
      fail('invalid_request', 'code_challenge is malformed')
  } else if (client.type === 'public') {
    fail('invalid_request', 'PKCE (code_challenge with S256) is required for public clients')
  }

  const prompt = (one(params, 'prompt') ?? '').split(' ').filter(Boolean)
  const unknownPrompt = prompt.find((p) => !PROMPTS.has(p))
  if (unknownPrompt) fail('invalid_request', `prompt value "${unknownPrompt}" is not supported`)
  if (prompt.includes('none') && prompt.length > 1)
    fail('invalid_request', 'prompt=none cannot be combined with other values')

  const maxAgeParam = one(params, 'max_age')
  if (maxAgeParam !== undefined && !/^\d{1,9}$/.test(maxAgeParam))
    fail('invalid_request', 'max_age must be a number of seconds')

  let resource: string[] | undefined
  const resources = params.resource === undefined ? undefined : [params.resource].flat()
  if (resources?.length) {
    try {
      audienceFor(resources, client.allowedAudiences, options.issuer)
    } catch (err) {
      fail('invalid_target', (err as Error).message)
    }
    resource = [...new Set(resources)]
  }

  const detailsParam = one(params, 'authorization_details')
  const authorizationDetails =
    detailsParam === undefined ? undefined : parseAuthorizationDetails(detailsParam, client, fail)

  const nonce = one(params, 'nonce')
  if (nonce !== undefined && nonce.length > 512) fail('invalid_request', 'nonce is too long')

  return {
    clientId: client.clientId,
    redirectUri,
    responseMode,
    scope,
    state,
    nonce,
    codeChallenge,
    prompt,
    maxAge: maxAgeParam === undefined ? undefined : Number(maxAgeParam),
    loginHint: one(params, 'login_hint'),
    idTokenHint: one(params, 'id_token_hint'),
    acrValues: one(params, 'acr_values')?.split(' ').filter(Boolean),
    resource,
    authorizationDetails,
  }
}

/** RFC 9396 §2: a JSON array of objects, each of a type this client may request. */
function parseAuthorizationDetails(
  value: string,
  client: Client,
  fail: (code: OAuthErrorCode, description: string) => never,
): AuthorizationDetail[] {
  if (value.length > 8192) fail('invalid_authorization_details', 'authorization_details is too large')
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    fail('invalid_authorization_details', 'authorization_details is not valid JSON')
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 10) {
    fail('invalid_authorization_details', 'authorization_details must be an array of 1 to 10 objects')
  }
  // Stored as jsonb with the code and its tokens: what PostgreSQL cannot hold is refused here.
  const bad = jsonProblem(parsed)
  // The path starts at an index (the value is an array): `authorization_details[0].x`.
  if (bad) fail('invalid_authorization_details', `authorization_details${formatPath(bad.path)} ${bad.reason}`)
  const details = parsed as unknown[]
  for (const detail of details) {
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      fail('invalid_authorization_details', 'each authorization detail must be an object')
    }
    const type = (detail as { type?: unknown }).type
    if (typeof type !== 'string')
      fail('invalid_authorization_details', 'each authorization detail needs a type')
    if (!client.authorizationDetailsTypes.includes(type as string)) {
      fail(
        'invalid_authorization_details',
        `authorization detail type "${type}" is not allowed for this client`,
      )
    }
    for (const field of ['locations', 'actions', 'datatypes', 'privileges'] as const) {
      const v = (detail as Record<string, unknown>)[field]
      if (v !== undefined && (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))) {
        fail('invalid_authorization_details', `${field} must be an array of strings`)
      }
    }
  }
  return details as AuthorizationDetail[]
}
