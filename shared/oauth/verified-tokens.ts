/** A process's memory of access tokens it has verified (oauth/access-token.ts). */

/**
 * The digests of tokens verified (signature and claims) for an organization: a bounded set,
 * oldest first out. A hit only re-reads the token's payload (payloadOf); expiry, the deny list
 * and the client are checked on every use by verifyAccessToken.
 */
export class VerifiedTokenCache {
  private readonly entries = new Set<string>()
  private readonly maxEntries: number

  constructor(maxEntries = 10_000) {
    this.maxEntries = maxEntries
  }

  has(key: string): boolean {
    return this.entries.has(key)
  }

  add(key: string): void {
    if (this.entries.size >= this.maxEntries)
      this.entries.delete(this.entries.values().next().value as string)
    this.entries.add(key)
  }

  clear(): void {
    this.entries.clear()
  }
}
