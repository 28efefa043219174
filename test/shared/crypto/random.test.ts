import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { digestOf, digestsEqual, randomIdentifier, randomToken } from '../../../shared/crypto/random.ts'

describe('random values', () => {
  it('identifiers are 128 bits of base64url, distinct across many pool refills', () => {
    const seen = new Set<string>()
    // 2,000 × 16 bytes is over thirty refills of the 1 KiB pool.
    for (let i = 0; i < 2000; i++) {
      const id = randomIdentifier()
      expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/)
      seen.add(id)
    }
    expect(seen.size).toBe(2000)
    expect(randomIdentifier(32)).toMatch(/^[A-Za-z0-9_-]{43}$/)
  })

  it('tokens are 256 bits; their digest is SHA-256 and compares in constant time', () => {
    const token = randomToken()
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const digest = digestOf(token)
    expect(digest.equals(createHash('sha256').update(token).digest())).toBe(true)
    expect(digestsEqual(digest, digestOf(token))).toBe(true)
    expect(digestsEqual(digest, digestOf(`${token}x`))).toBe(false)
    expect(digestsEqual(digest, digest.subarray(1))).toBe(false)
  })

  it('tokens of any size are distinct across pool refills and mixed sizes; larger ones bypass the pool', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 3000; i++) {
      const bytes = [32, 16, 18, 32, 7][i % 5]!
      const token = randomToken(bytes)
      expect(token).toHaveLength(Math.ceil((bytes * 4) / 3))
      seen.add(token)
    }
    expect(seen.size).toBe(3000)
    const big = randomToken(4096)
    expect(Buffer.from(big, 'base64url')).toHaveLength(4096)
    expect(big).not.toMatch(/^A+$/)
  })
})
