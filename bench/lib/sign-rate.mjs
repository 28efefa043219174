/**
 * Calibration: JWS signatures per second on this core (node:crypto, one-shot, the way
 * shared/crypto/jws.ts signs), for one algorithm: `EdDSA` (Ed25519, the default), `ES256`
 * (P-256) or `RS256` (RSA-2048, PKCS #1 v1.5 with SHA-256). Prints the rate.
 */
import { generateKeyPairSync, sign } from 'node:crypto'

const ALGS = {
  EdDSA: () => ({ digest: null, key: generateKeyPairSync('ed25519').privateKey }),
  ES256: () => ({
    digest: 'sha256',
    key: { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, dsaEncoding: 'ieee-p1363' },
  }),
  RS256: () => ({ digest: 'sha256', key: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey }),
}

const alg = process.argv[2] ?? 'EdDSA'
if (!Object.hasOwn(ALGS, alg)) throw new Error(`sign-rate: unknown algorithm ${alg}`)
const { digest, key } = ALGS[alg]()
// About an ID token's signing input.
const data = Buffer.alloc(500, 7)
const warm = performance.now() + 300
while (performance.now() < warm) sign(digest, data, key)
const started = performance.now()
let n = 0
while (performance.now() - started < 2000) {
  sign(digest, data, key)
  n++
}
console.log(Math.round(n / ((performance.now() - started) / 1000)))
