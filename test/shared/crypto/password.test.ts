import { availableParallelism } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import {
  hashPassword,
  needsRehash,
  queuedPasswordHashes,
  setPasswordHashConcurrency,
  verifyPassword,
} from '../../../shared/crypto/password.ts'

describe('password hashing', () => {
  afterEach(() => setPasswordHashConcurrency(availableParallelism()))

  it('hashes with Argon2id at the DESIGN.md parameters and verifies', async () => {
    const stored = await hashPassword('correct horse')
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=65536,t=3,p=4\$/)
    expect(await verifyPassword(stored, 'correct horse')).toBe(true)
    expect(await verifyPassword(stored, 'correct horsE')).toBe(false)
    expect(await verifyPassword('not a hash', 'correct horse')).toBe(false)
    expect(await needsRehash(stored)).toBe(false)
    expect(await needsRehash(stored.replace('t=3', 't=2'))).toBe(true)
  })

  it('runs at most PASSWORD_HASH_CONCURRENCY hashes at once and queues the rest', async () => {
    const stored = await hashPassword('pw')
    setPasswordHashConcurrency(1)
    const finished: number[] = []
    const all = [0, 1, 2].map((i) => verifyPassword(stored, 'pw').then(() => finished.push(i)))
    // Once the argon2 module has resolved, the first runs and two wait.
    await expect.poll(() => queuedPasswordHashes()).toBe(2)
    // Raising the limit admits the waiting ones at once.
    setPasswordHashConcurrency(3)
    expect(queuedPasswordHashes()).toBe(0)
    await Promise.all(all)
    expect(finished).toHaveLength(3)
  })

  it('refuses a limit that is not a positive integer', () => {
    expect(() => setPasswordHashConcurrency(0)).toThrow(RangeError)
    expect(() => setPasswordHashConcurrency(1.5)).toThrow(RangeError)
  })
})
