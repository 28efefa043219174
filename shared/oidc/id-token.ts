/**
 * ID tokens (OpenID Connect Core §2): signed with the client's id_token_signed_response_alg,
 * RS256 when it has none (Core §3.1.3.7), with a kid published in the JWKS.
 */
import { hash } from 'node:crypto'
import { decodeCompact, signCompact, verifyCompact } from '../crypto/jws.ts'
import type { SigningAlg } from '../keys/generate.ts'
import type { Runtime } from '../runtime.ts'
import type { Organization } from '../tenancy.ts'

export interface IdTokenInput {
  readonly clientId: string
  readonly alg: SigningAlg | null
  readonly subject: string
  readonly nonce?: string | null | undefined
  readonly authTime: Date
  readonly amr: readonly string[]
  readonly acr?: string | null | undefined
  readonly sessionId?: string | null | undefined
  /** The access token issued with it, for at_hash. */
  readonly accessToken?: string | undefined
  readonly ttlSeconds: number
}

/**
 * at_hash (Core §3.1.3.6): the left half of the hash of the access token, by the hash of
 * the signing algorithm; SHA-512 for EdDSA over Ed25519.
 */
export function atHash(accessToken: string, alg: SigningAlg): string {
  const digest = hash(alg === 'EdDSA' ? 'sha512' : 'sha256', accessToken, 'buffer')
  return digest.subarray(0, digest.length / 2).toString('base64url')
}

export async function issueIdToken(
  runtime: Runtime,
  org: Organization,
  input: IdTokenInput,
): Promise<string> {
  const alg = input.alg ?? 'RS256'
  const signer = await runtime.keys.signer(org.id, alg)
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    iss: org.issuer,
    sub: input.subject,
    aud: input.clientId,
    exp: now + input.ttlSeconds,
    iat: now,
    auth_time: Math.floor(input.authTime.getTime() / 1000),
    ...(input.nonce ? { nonce: input.nonce } : {}),
    ...(input.acr ? { acr: input.acr } : {}),
    amr: [...input.amr],
    ...(input.sessionId ? { sid: input.sessionId } : {}),
    ...(input.accessToken ? { at_hash: atHash(input.accessToken, alg) } : {}),
    azp: input.clientId,
  }
  return signCompact({ typ: 'JWT', kid: signer.kid }, claims, alg, signer.key)
}

/**
 * The claims of an ID token this organization issued, expired or not: an id_token_hint
 * (Core §3.1.2.1) or a logout hint may have expired. Undefined when it is not one.
 */
export async function verifyIdTokenHint(
  runtime: Runtime,
  org: Organization,
  token: string,
): Promise<{ sub: string; aud: string[]; sid?: string } | undefined> {
  const jws = decodeCompact(token)
  if (!jws || typeof jws.header.kid !== 'string') return undefined
  if (typeof jws.header.typ === 'string' && jws.header.typ.toLowerCase().includes('at+jwt')) return undefined
  const verifier = (await runtime.keys.forOrganization(org.id)).verifiers.get(jws.header.kid)
  if (!verifier || !verifyCompact(jws, verifier.alg, verifier.key)) return undefined
  const { iss, sub, aud, sid } = jws.payload
  if (iss !== org.issuer || typeof sub !== 'string') return undefined
  const audience =
    typeof aud === 'string'
      ? [aud]
      : Array.isArray(aud)
        ? aud.filter((a): a is string => typeof a === 'string')
        : []
  if (audience.length === 0) return undefined
  return { sub, aud: audience, ...(typeof sid === 'string' ? { sid } : {}) }
}
