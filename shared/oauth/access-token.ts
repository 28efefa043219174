/**
 * Access tokens: RFC 9068 JWTs (`typ: at+jwt`) signed with the organization's current key,
 * and their verification for introspection and for the admin API. The digests of verified
 * tokens are kept in a bounded set, so a repeat skips the signature check; expiry, the deny
 * list and the client's status are checked on every use. Only digests: with 10,000 claims
 * objects held (and replaced as new tokens come), the process's peak RSS under introspection
 * of many distinct tokens was ~14 MB higher.
 */
import { type DecodedJws, decodeCompact, payloadOf, signCompact, verifyCompact } from '../crypto/jws.ts'
import { digestOf, randomIdentifier } from '../crypto/random.ts'
import { SIGNING_ALGS, type SigningAlg } from '../keys/generate.ts'
import type { Runtime } from '../runtime.ts'
import type { Organization } from '../tenancy.ts'

export interface AccessTokenClaims {
  readonly iss: string
  readonly sub: string
  readonly aud: string | string[]
  readonly client_id: string
  readonly scope?: string
  readonly jti: string
  readonly iat: number
  readonly exp: number
  readonly [claim: string]: unknown
}

export interface IssueInput {
  readonly clientId: string
  readonly subject: string
  readonly scope: readonly string[]
  readonly audience: string | readonly string[]
  readonly ttlSeconds: number
  /** More claims (auth_time, sid, authorization_details, ...). */
  readonly claims?: Readonly<Record<string, unknown>>
  /** Chosen ahead (newAccessTokenId), when the token must be recorded before it is signed. */
  readonly jti?: string
  /** Seconds since the epoch; now unless given. */
  readonly issuedAt?: number
}

/** A fresh access token identifier (jti): 128 random bits. */
export function newAccessTokenId(): string {
  return randomIdentifier(16)
}

/** The algorithm an organization signs access tokens with (settings; EdDSA by default). */
export function accessTokenAlg(org: Organization): SigningAlg {
  const configured = org.settings.access_token_signing_alg
  return SIGNING_ALGS.includes(configured as SigningAlg) ? (configured as SigningAlg) : 'EdDSA'
}

export async function issueAccessToken(
  runtime: Runtime,
  org: Organization,
  input: IssueInput,
): Promise<{ token: string; claims: AccessTokenClaims }> {
  const signer = await runtime.keys.signer(org.id, accessTokenAlg(org))
  const now = input.issuedAt ?? Math.floor(Date.now() / 1000)
  const claims: AccessTokenClaims = {
    ...input.claims,
    iss: org.issuer,
    sub: input.subject,
    aud: typeof input.audience === 'string' ? input.audience : [...input.audience],
    client_id: input.clientId,
    ...(input.scope.length ? { scope: input.scope.join(' ') } : {}),
    jti: input.jti ?? newAccessTokenId(),
    iat: now,
    exp: now + input.ttlSeconds,
  }
  return { token: signCompact({ typ: 'at+jwt', kid: signer.kid }, claims, signer.alg, signer.key), claims }
}

/**
 * The claims of an access token this organization issued that is active now: signed by one
 * of its published keys, unexpired, not revoked, its client still existing and enabled.
 * Anything else (malformed, foreign, expired, revoked) is undefined.
 * @throws HttpError 503 when the deny list or keys cannot be read (fail closed).
 */
export async function verifyAccessToken(
  runtime: Runtime,
  org: Organization,
  token: string,
): Promise<AccessTokenClaims | undefined> {
  // Keyed by the token's SHA-256, not the token: 10,000 entries would otherwise hold ~7 MB of
  // keys. Never by a part of the token (its signature, say): another payload could share it.
  const cacheKey = `${org.id} ${digestOf(token).toString('base64url')}`
  let claims: AccessTokenClaims | undefined
  if (runtime.verifiedTokens.has(cacheKey)) {
    // The same bytes were verified for this organization: the same claims, valid then and now.
    claims = payloadOf(token) as AccessTokenClaims
  } else {
    const jws = decodeCompact(token)
    claims = jws && (await verifySignatureAndClaims(runtime, org, jws))
    if (!claims) return undefined
    runtime.verifiedTokens.add(cacheKey)
  }
  if (claims.exp <= Date.now() / 1000) return undefined
  if (await runtime.revocations.isRevoked(org.id, claims.jti)) return undefined
  const client = await runtime.clients.find(org.id, claims.client_id)
  if (!client?.isActive) return undefined
  return claims
}

async function verifySignatureAndClaims(
  runtime: Runtime,
  org: Organization,
  jws: DecodedJws,
): Promise<AccessTokenClaims | undefined> {
  const { header, payload } = jws
  // RFC 9068 §4: the typ must say this is an access token, not an ID token or another JWT.
  if (typeof header.typ !== 'string' || !['at+jwt', 'application/at+jwt'].includes(header.typ.toLowerCase()))
    return undefined
  if (typeof header.kid !== 'string') return undefined
  const verifier = (await runtime.keys.forOrganization(org.id)).verifiers.get(header.kid)
  if (!verifier || !verifyCompact(jws, verifier.alg, verifier.key)) return undefined
  const valid =
    payload.iss === org.issuer &&
    typeof payload.sub === 'string' &&
    typeof payload.client_id === 'string' &&
    typeof payload.jti === 'string' &&
    typeof payload.iat === 'number' &&
    typeof payload.exp === 'number' &&
    (typeof payload.aud === 'string' ||
      (Array.isArray(payload.aud) && payload.aud.every((a) => typeof a === 'string')))
  return valid ? (payload as AccessTokenClaims) : undefined
}
