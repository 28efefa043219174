/**
 * Random bearer values (DESIGN.md §5): 256-bit, base64url, stored only as SHA-256 digests
 * and compared in constant time. A slow KDF would add nothing to a 256-bit random value.
 */
import { hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto'

/** A new random value of `bytes` bytes (default 32 = 256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** The SHA-256 digest under which a random bearer value is stored. */
export function digestOf(value: string): Buffer {
  // One-shot: no Hash object per call (client authentication runs this on every token).
  return hash('sha256', value, 'buffer')
}

// Identifiers are drawn from a pool filled 4 KiB at a time: one CSPRNG call per 256 of
// them instead of one each (as crypto.randomUUID does). Not for secrets: a pooled value
// sits in memory until its slice is used.
const POOL = Buffer.allocUnsafeSlow(4096)
let poolOffset = POOL.length

/** A random identifier of `bytes` bytes (not a secret: jti, not a token), base64url. */
export function randomIdentifier(bytes = 16): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL)
    poolOffset = 0
  }
  const id = POOL.toString('base64url', poolOffset, poolOffset + bytes)
  poolOffset += bytes
  return id
}

/** Constant-time equality of two digests (or any equal-length byte strings). */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A human-typeable random password: 24 characters of base64url (144 bits). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url')
}
