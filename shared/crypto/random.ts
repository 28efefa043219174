/**
 * Random bearer values (DESIGN.md §5): 256-bit, base64url, stored only as SHA-256 digests
 * and compared in constant time. A slow KDF would add nothing to a 256-bit random value.
 */
import { hash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto'

// Random bytes are drawn from a pool filled 1 KiB at a time by the CSPRNG. Each call into it
// costs ~5.5 µs here whatever the size (6.0 µs for 1 KiB, 5.9 µs for 32 bytes), as much as
// the rest of issuing an authorization code, so one call now serves ~32 tokens. Each slice is
// zeroed once encoded: the pool holds only values not yet drawn, and no issued secret stays
// in it. Values not yet drawn in memory are no weaker than the CSPRNG's own state, which sits
// in the same process and determines its next outputs just as well. Node never forks a
// running process, so no two processes share the pool.
const POOL = Buffer.allocUnsafeSlow(1024)
let poolOffset = POOL.length

/** `bytes` fresh random bytes (at most the pool's size), base64url. */
function drawn(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL)
    poolOffset = 0
  }
  const end = poolOffset + bytes
  const value = POOL.toString('base64url', poolOffset, end)
  POOL.fill(0, poolOffset, end)
  poolOffset = end
  return value
}

/** A new random value of `bytes` bytes (default 32 = 256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return bytes <= POOL.length ? drawn(bytes) : randomBytes(bytes).toString('base64url')
}

/** The SHA-256 digest under which a random bearer value is stored. */
export function digestOf(value: string): Buffer {
  // One-shot: no Hash object per call (client authentication runs this on every token).
  return hash('sha256', value, 'buffer')
}

/** A random identifier of `bytes` bytes (not a secret: jti, not a token), base64url. */
export function randomIdentifier(bytes = 16): string {
  return randomToken(bytes)
}

/** Constant-time equality of two digests (or any equal-length byte strings). */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A human-typeable random password: 24 characters of base64url (144 bits). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url')
}
