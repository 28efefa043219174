/**
 * Random bearer values (DESIGN.md §5): 256-bit, base64url, stored only as SHA-256 digests
 * and compared in constant time. A slow KDF would add nothing to a 256-bit random value.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

/** A new random value of `bytes` bytes (default 32 = 256 bits), base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

/** The SHA-256 digest under which a random bearer value is stored. */
export function digestOf(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** Constant-time equality of two digests (or any equal-length byte strings). */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A human-typeable random password: 24 characters of base64url (144 bits). */
export function randomPassword(): string {
  return randomBytes(18).toString('base64url')
}
