/**
 * Passwords: Argon2id, 64 MiB, 3 iterations, parallelism 4, as PHC strings (DESIGN.md §5).
 * Hashing runs on libuv's thread pool, off the event loop. The native addon loads on first
 * use, not at start-up: most processes (token service, PIM) never hash a password.
 *
 * At most `PASSWORD_HASH_CONCURRENCY` hashes run at once (default: the cores this process may
 * use); the rest wait their turn in order. One hash keeps one core busy for its whole
 * duration, so more at once would not finish sooner: they would only crowd the event loop off
 * the core (four hashes on one core leave requests a fifth of it) and evict each other's
 * 64 MiB from the caches.
 */
import { availableParallelism } from 'node:os'

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

/** Admits at most `limit` tasks at once, first come first served. */
class Gate {
  private limit: number
  private running = 0
  private readonly waiting: (() => void)[] = []

  constructor(limit: number) {
    this.limit = limit
  }

  setLimit(limit: number): void {
    this.limit = limit
    while (this.running < this.limit && this.waiting.length > 0) {
      this.running++
      this.waiting.shift()!()
    }
  }

  get queued(): number {
    return this.waiting.length
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.running++
    try {
      return await task()
    } finally {
      // The slot passes straight to the next waiter unless the limit was lowered meanwhile.
      if (this.running <= this.limit && this.waiting.length > 0) this.waiting.shift()!()
      else this.running--
    }
  }
}

const gate = new Gate(Math.max(1, availableParallelism()))

/** Sets how many hashes may run at once (PASSWORD_HASH_CONCURRENCY); the runtime calls it. */
export function setPasswordHashConcurrency(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError('hash concurrency must be a positive integer')
  gate.setLimit(limit)
}

/** Hashes waiting for a free slot now (exported as a metric). */
export function queuedPasswordHashes(): number {
  return gate.queued
}

const computed = { hash: 0, verify: 0 }

/** Argon2id computations begun by this process, by kind (exported as a metric). */
export function passwordHashCounts(): Readonly<typeof computed> {
  return { ...computed }
}

export async function hashPassword(password: string): Promise<string> {
  const { hash } = await loadArgon2()
  return gate.run(() => {
    computed.hash++
    return hash(password, PASSWORD_HASH_PARAMETERS)
  })
}

/** Verifies a password; a malformed stored hash verifies nothing. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  const { verify } = await loadArgon2()
  try {
    return await gate.run(() => {
      computed.verify++
      return verify(stored, password)
    })
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
