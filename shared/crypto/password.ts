/**
 * Passwords: Argon2id, 64 MiB, 3 iterations, parallelism 4, as PHC strings (DESIGN.md §5).
 * Hashing runs on libuv's thread pool, off the event loop. The native addon loads on first
 * use, not at start-up: most processes (token service, PIM) never hash a password.
 */
type Argon2 = typeof import('@node-rs/argon2')

let argon2: Promise<Argon2> | undefined
const loadArgon2 = () => {
  argon2 ??= import('@node-rs/argon2')
  return argon2
}

// @node-rs/argon2 declares its algorithm as a const enum; 2 is Argon2id.
const ARGON2ID = 2

export const PASSWORD_HASH_PARAMETERS = Object.freeze({
  algorithm: ARGON2ID,
  memoryCost: 65_536,
  timeCost: 3,
  parallelism: 4,
})

export async function hashPassword(password: string): Promise<string> {
  return (await loadArgon2()).hash(password, PASSWORD_HASH_PARAMETERS)
}

/** Verifies a password; a malformed stored hash verifies nothing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const { verify } = await loadArgon2()
  try {
    return await verify(stored, password)
  } catch {
    return false
  }
}

/** Whether a stored hash was made with other parameters and should be replaced at login. */
export async function needsRehash(stored: string): Promise<boolean> {
  const { parseOptions } = await loadArgon2()
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
