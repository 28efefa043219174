/**
 * Client authentication at the token, introspection, revocation and PAR endpoints:
 * client_secret_basic and client_secret_post (RFC 6749 §2.3.1), private_key_jwt (RFC 7523
 * §2.2, OpenID Connect Core §9) and none for public clients. Failures are 401 invalid_client
 * with a challenge; a request using two methods at once is invalid_request.
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { digestOf, digestsEqual } from '../crypto/random.ts'
import { insertClientAssertionJti } from '../db/revocations.ts'
import { invalidClient, OAuthError } from '../http/errors.ts'
import { unstorable } from '../http/parse-request.ts'
import type { RequestScope } from '../request-scope.ts'
import type { Client } from './clients.ts'
import { keySetFetch } from './key-fetch.ts'

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'

/** Algorithms accepted for client assertions (private_key_jwt). */
export const ASSERTION_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const

/** The body parameters client authentication reads. */
export interface ClientAuthParameters {
  readonly client_id?: string | undefined
  readonly client_secret?: string | undefined
  readonly client_assertion_type?: string | undefined
  readonly client_assertion?: string | undefined
}

type Presented =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string | undefined; assertion: string }
  | { method: 'none'; clientId: string }

// Assertions must be short-lived: a replay window longer than this is refused.
const MAX_ASSERTION_LIFETIME_SECONDS = 600

/**
 * Reads the credentials a request presents.
 * @throws OAuthError invalid_request for two methods at once or a client_id that disagrees
 *   with the Authorization header; invalid_client for a malformed header or none at all.
 */
export function presentedCredentials(
  authorization: string | undefined,
  body: ClientAuthParameters,
): Presented {
  const basic = authorization?.match(/^Basic\s+(\S+)\s*$/i)?.[1]
  // A Basic header that is not one token68 (none, or several words) is malformed, not absent.
  if (basic === undefined && authorization !== undefined && /^Basic(?:\s|$)/i.test(authorization))
    throw invalidClient('malformed Basic credentials')
  const methods = [basic !== undefined, body.client_secret !== undefined, body.client_assertion !== undefined]
  if (methods.filter(Boolean).length > 1) {
    throw new OAuthError('invalid_request', 'the client must use exactly one authentication method')
  }
  if (basic !== undefined) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 1) throw invalidClient('malformed Basic credentials')
    let clientId: string
    let secret: string
    try {
      // RFC 6749 §2.3.1: both are form-urlencoded before they are joined.
      clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '))
      secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '))
    } catch {
      throw invalidClient('malformed Basic credentials')
    }
    // As a form parameter would be (parseRequest): no client's id or secret holds a NUL, and a
    // lookup with one would fail in the database.
    if (unstorable(clientId) || unstorable(secret)) throw invalidClient('malformed Basic credentials')
    if (body.client_id !== undefined && body.client_id !== clientId) {
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header')
    }
    return { method: 'client_secret_basic', clientId, secret }
  }
  if (body.client_assertion !== undefined) {
    if (body.client_assertion_type !== JWT_BEARER_ASSERTION) {
      throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`)
    }
    return { method: 'private_key_jwt', clientId: body.client_id, assertion: body.client_assertion }
  }
  if (body.client_id === undefined) throw invalidClient('client authentication is required')
  if (body.client_secret !== undefined)
    return { method: 'client_secret_post', clientId: body.client_id, secret: body.client_secret }
  return { method: 'none', clientId: body.client_id }
}

/**
 * Authenticates the client of a request.
 * @param audiences the values a client assertion's `aud` may carry: the endpoint's URL and
 *   the issuer.
 * @throws OAuthError invalid_client (401) for an unknown, disabled or wrongly authenticated
 *   client, or one using a method other than its registered one.
 */
export async function authenticateClient(
  ctx: Pick<RequestScope, 'runtime' | 'org' | 'db' | 'request'>,
  authorization: string | undefined,
  body: ClientAuthParameters,
  audiences: readonly string[],
): Promise<Client> {
  try {
    return await authenticate(ctx, authorization, body, audiences)
  } catch (err) {
    if (err instanceof OAuthError && err.code === 'invalid_client') {
      ctx.runtime.audit.record(ctx.org.id, {
        actorType: 'anonymous',
        actorId: body.client_id ?? null,
        action: 'client.authentication_failed',
        result: 'failure',
        ...ctx.request,
        details: { reason: err.message },
      })
    }
    throw err
  }
}

async function authenticate(
  ctx: Pick<RequestScope, 'runtime' | 'org' | 'db'>,
  authorization: string | undefined,
  body: ClientAuthParameters,
  audiences: readonly string[],
): Promise<Client> {
  const presented = presentedCredentials(authorization, body)
  const clientId = presented.clientId ?? unverifiedIssuer(presented)
  const client = clientId ? await ctx.runtime.clients.find(ctx.org.id, clientId) : undefined
  if (!client?.isActive) throw invalidClient('client authentication failed')
  if (client.tokenEndpointAuthMethod !== presented.method) {
    throw invalidClient(`this client authenticates with ${client.tokenEndpointAuthMethod}`)
  }
  switch (presented.method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      if (!secretMatches(client, presented.secret)) throw invalidClient('client authentication failed')
      break
    case 'private_key_jwt':
      await verifyAssertion(ctx, client, presented.assertion, audiences)
      break
    case 'none':
      if (client.type !== 'public') throw invalidClient('client authentication failed')
      break
  }
  return client
}

/** Compares against every valid secret in constant time, and always against all of them. */
function secretMatches(client: Client, secret: string): boolean {
  const presented = digestOf(secret)
  const now = Date.now()
  let match = false
  for (const s of client.secrets) {
    const valid = s.expiresAt === null || s.expiresAt.getTime() > now
    match = (digestsEqual(presented, s.digest) && valid) || match
  }
  return match
}

function unverifiedIssuer(presented: Presented): string | undefined {
  if (presented.method !== 'private_key_jwt') return undefined
  try {
    const payload = JSON.parse(
      Buffer.from(presented.assertion.split('.')[1] ?? '', 'base64url').toString('utf8'),
    )
    return typeof payload?.iss === 'string' ? payload.iss : undefined
  } catch {
    return undefined
  }
}

const remoteKeySets = new Map<string, JWTVerifyGetKey>()

function keySetOf(client: Client): JWTVerifyGetKey | undefined {
  if (client.jwks) return createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0])
  if (!client.jwksUri) return undefined
  // A dynamically registered client's jwks_uri is fetched from public addresses only (key-fetch.ts).
  const publicOnly = client.dynamicallyRegistered
  const key = `${publicOnly ? 'public' : 'any'} ${client.jwksUri}`
  let set = remoteKeySets.get(key)
  if (!set) {
    set = createRemoteJWKSet(new URL(client.jwksUri), {
      timeoutDuration: 3000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
      [customFetch]: keySetFetch({ publicOnly }),
    })
    if (remoteKeySets.size > 1000) remoteKeySets.clear()
    remoteKeySets.set(key, set)
  }
  return set
}

/** RFC 7523 §3: iss = sub = client_id, aud names this server, exp, a jti seen once. */
async function verifyAssertion(
  ctx: Pick<RequestScope, 'org' | 'db'>,
  client: Client,
  assertion: string,
  audiences: readonly string[],
): Promise<void> {
  const keys = keySetOf(client)
  if (!keys) throw invalidClient('the client has no keys registered for private_key_jwt')
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload']
  try {
    ;({ payload } = await jwtVerify(assertion, keys, {
      issuer: client.clientId,
      subject: client.clientId,
      audience: [...audiences],
      algorithms: [...ASSERTION_ALGS],
      requiredClaims: ['exp', 'jti'],
      clockTolerance: 30,
    }))
  } catch {
    throw invalidClient('the client assertion is invalid')
  }
  const exp = payload.exp!
  if (exp - Date.now() / 1000 > MAX_ASSERTION_LIFETIME_SECONDS) {
    throw invalidClient(`the client assertion must expire within ${MAX_ASSERTION_LIFETIME_SECONDS} seconds`)
  }
  const fresh = await ctx.db.transaction((q) =>
    insertClientAssertionJti(q, ctx.org.id, client.clientId, String(payload.jti), new Date(exp * 1000)),
  )
  if (!fresh) throw invalidClient('the client assertion was already used')
}
