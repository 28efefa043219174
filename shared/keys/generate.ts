/** New signing key pairs: Ed25519 (EdDSA), P-256 (ES256) and RSA-2048 (RS256). */
import { generateKeyPair, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import { calculateJwkThumbprint, type JWK } from 'jose'

export const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256'] as const
export type SigningAlg = (typeof SIGNING_ALGS)[number]

export interface GeneratedKey {
  /** RFC 7638 thumbprint of the public key. */
  readonly kid: string
  readonly alg: SigningAlg
  readonly publicJwk: JWK
  readonly pkcs8: Buffer
}

const generate = promisify(generateKeyPair)

async function pairFor(alg: SigningAlg): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (alg) {
    case 'EdDSA':
      return generate('ed25519')
    case 'ES256':
      return generate('ec', { namedCurve: 'P-256' })
    case 'RS256':
      return generate('rsa', { modulusLength: 2048 })
  }
}

/** Generates off the event loop (RSA takes tens of milliseconds). */
export async function generateSigningKey(alg: SigningAlg): Promise<GeneratedKey> {
  const { publicKey, privateKey } = await pairFor(alg)
  const jwk = publicKey.export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(jwk)
  return {
    kid,
    alg,
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    pkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }),
  }
}
