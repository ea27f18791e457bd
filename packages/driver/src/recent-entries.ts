// What the matrix-js-sdk transport remembers per user (device lists, key-query times), bounded
// in count and in age: a host that messages many users over days keeps only the recent ones.

export interface RecentEntry<V> {
  readonly at: number;
  readonly value: V;
}

/** A map of at most `maxEntries` entries, each forgotten `maxAgeMs` after it was set. */
export class RecentEntries<V> {
  // Insertion order is the order of `at` (each `set` moves its key to the end): oldest first.
  private readonly entries = new Map<string, RecentEntry<V>>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry, unless it is older than `maxAgeMs`. */
  get(key: string, now: number): RecentEntry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || now - entry.at < this.maxAgeMs) return entry;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, now: number): void {
    this.entries.delete(key);
    this.entries.set(key, { at: now, value });
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - entry.at < this.maxAgeMs) break;
      this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
