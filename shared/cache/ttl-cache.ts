/**
 * An in-process cache (DESIGN.md §6): entries expire after a TTL, concurrent misses share one
 * load, a failed load is not kept, and the entry count is bounded (oldest first out) so keys
 * chosen by clients cannot grow memory without limit.
 */
interface Entry<V> {
  readonly value: Promise<V>
  readonly expiresAt: number
}

export class TtlCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>()
  private readonly ttlMs: number
  private readonly maxEntries: number

  constructor(options: { ttlMs: number; maxEntries: number }) {
    this.ttlMs = options.ttlMs
    this.maxEntries = options.maxEntries
  }

  /** The cached value, or the one `load` produces (shared by concurrent callers). */
  get(key: K, load: () => Promise<V>): Promise<V> {
    const now = Date.now()
    const cached = this.entries.get(key)
    if (cached && cached.expiresAt > now) return cached.value
    const value = load()
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      this.entries.delete(this.entries.keys().next().value as K)
    }
    const entry = { value, expiresAt: now + this.ttlMs }
    this.entries.set(key, entry)
    value.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key)
    })
    return value
  }

  /** The cached value if present and fresh, without loading. */
  peek(key: K): Promise<V> | undefined {
    const cached = this.entries.get(key)
    return cached && cached.expiresAt > Date.now() ? cached.value : undefined
  }

  delete(key: K): void {
    this.entries.delete(key)
  }

  /** Drops every entry whose key matches. */
  deleteWhere(matches: (key: K) => boolean): void {
    for (const key of this.entries.keys()) if (matches(key)) this.entries.delete(key)
  }

  clear(): void {
    this.entries.clear()
  }

  get size(): number {
    return this.entries.size
  }
}
