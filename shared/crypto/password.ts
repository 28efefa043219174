/**
 * Passwords: Argon2id, 64 MiB, 3 iterations, parallelism 4, as PHC strings (DESIGN.md §5).
 * Hashing runs on libuv's thread pool, off the event loop.
 */
import { hash, parseOptions, verify } from '@node-rs/argon2'

// @node-rs/argon2 declares its algorithm as a const enum; 2 is Argon2id.
const ARGON2ID = 2

export const PASSWORD_HASH_PARAMETERS = Object.freeze({
  algorithm: ARGON2ID,
  memoryCost: 65_536,
  timeCost: 3,
  parallelism: 4,
})

export function hashPassword(password: string): Promise<string> {
  return hash(password, PASSWORD_HASH_PARAMETERS)
}

/** Verifies a password; a malformed stored hash verifies nothing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}

/** Whether a stored hash was made with other parameters and should be replaced at login. */
export function needsRehash(stored: string): boolean {
  try {
    const p = parseOptions(stored)
    return (
      p.algorithm !== ARGON2ID ||
      p.memoryCost !== PASSWORD_HASH_PARAMETERS.memoryCost ||
      p.timeCost !== PASSWORD_HASH_PARAMETERS.timeCost ||
      p.parallelism !== PASSWORD_HASH_PARAMETERS.parallelism
    )
  } catch {
    return true
  }
}
